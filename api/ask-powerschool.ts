// A route's live question to a school's PowerSchool, asked with the integration's stored credentials.
import type { FastifyBaseLogger } from 'fastify';
import { getIntegration } from '../db/queries/integrations.js';
import type { Integration } from '../db/types.js';
import { notFound } from './errors.js';
import { probeFailure, type ProbeCredentials } from './powerschool-probe.js';
import type { Services } from './services.js';

/**
 * Opens the stored secret only for this call and asks PowerSchool while a person waits: 404 without
 * an integration; any PowerSchool failure becomes the contract's 422 (POWERSCHOOL_*), logged with
 * its code and cause, never the secret.
 */
export async function askSchoolsPowerSchool<T>(
  services: Pick<Services, 'db' | 'box'>,
  log: FastifyBaseLogger,
  schoolId: string,
  what: string,
  ask: (credentials: ProbeCredentials, row: Integration) => Promise<T>,
): Promise<T> {
  const row = await getIntegration(services.db, schoolId);
  if (!row) throw notFound('Integration');
  const clientSecret = services.box.open(
    { ciphertext: row.client_secret_encrypted, keyId: row.client_secret_key_id },
    row.school_id,
  );
  try {
    return await ask({ serverUrl: row.server_url, clientId: row.client_id, clientSecret }, row);
  } catch (err) {
    const failure = probeFailure(err);
    log.info(
      { schoolId: row.school_id, code: failure.code, cause: err instanceof Error ? err.message : String(err) },
      `${what} failed`,
    );
    throw failure;
  }
}
