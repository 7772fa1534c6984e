// The Temporal client connection, and the registration of our search attributes.
import { Client, Connection } from '@temporalio/client';
import { status as grpcStatus } from '@grpc/grpc-js';
// @temporalio/proto is CommonJS with only a default export under Node's ESM loader (tsx, node).
import proto from '@temporalio/proto';

const { IndexedValueType } = proto.temporal.api.enums.v1;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
import type { Config } from '../config.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

export async function connectClient(config: Pick<Config, 'temporal'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return new Client({ connection, namespace: config.temporal.namespace });
}

const ATTRIBUTES: Record<string, IndexedValueType> = Object.fromEntries(
  SEARCH_ATTRIBUTES.map((key) => [key.name, IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]]),
);

/**
 * Registers our custom search attributes on any cluster (the dev server gets them as flags, a
 * production cluster through this call). Idempotent: called at API and worker start.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.fromEntries(
    Object.entries(ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {}))),
  );
  if (Object.keys(missing).length === 0) return;
  try {
    await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
  }
}
