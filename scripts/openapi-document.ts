// Writes the API's OpenAPI document as served at /openapi.json, from an in-process app that connects to nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import { loadConfig } from '../config.js';
import { createDb } from '../db/connection.js';

/**
 * The document as GET /openapi.json serves it. The database pool and the Temporal connection are
 * lazy, so building the app needs neither running. `env` is the environment the config is read
 * from (PUBLIC_URL sets the server), test mode supplying a token and key.
 */
export async function servedOpenApiDocument(env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const config = loadConfig({ ...env, NODE_ENV: 'test' }, 'api');
  const db = createDb(config.databaseUrl);
  const connection = Connection.lazy({ address: config.temporal.address });
  const app = await buildApp({
    config,
    db,
    temporalClient: new Client({ connection, namespace: config.temporal.namespace }),
    logger: pino({ level: 'silent' }),
  });
  try {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`/openapi.json answered ${res.statusCode}`);
    return res.json();
  } finally {
    await app.close();
    await db.destroy();
    await connection.close();
  }
}

// `tsx scripts/openapi-document.ts [file]`: to the file (its folder created), else to stdout. The
// environment is ignored so the document (and its default server) is the same on every machine.
if (import.meta.url === `file://${process.argv[1]}`) {
  const text = `${JSON.stringify(await servedOpenApiDocument({}), null, 2)}\n`;
  const file = process.argv[2];
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  } else process.stdout.write(text);
}
