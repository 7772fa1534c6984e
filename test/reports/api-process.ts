import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { buildApp } from '../../api/app.js';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/connection.js';
import { createReportSource } from '../../db/queries/reports.js';

/**
 * The API in a process of its own, so a test can measure its memory (/proc/<pid>/status) while
 * it serves a large CSV. Also serves a control route that reads the same export into memory
 * before sending it: what the streamed route must not do. Prints `{"port": n}` once listening.
 */
const config = loadConfig(process.env, 'api');
const db = createDb(config.databaseUrl, { max: 3, applicationName: 'powerschool-sync-test-api' });
const temporalClient = new Client({ connection: Connection.lazy({ address: config.temporal.address }) });
const app = await buildApp({ config, db, temporalClient, logger: pino({ level: 'silent' }), rateLimit: false });

const reports = createReportSource(config.databaseUrl);
app.get<{ Params: { runId: string } }>('/control/runs/:runId/changes.csv', async (request, reply) => {
  const chunks: Buffer[] = [];
  for await (const chunk of await reports.changesCsv(request.params.runId, 'DCID')) chunks.push(chunk as Buffer);
  return reply.header('content-type', 'text/csv; charset=utf-8').send(Buffer.concat(chunks));
});

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => db.destroy())
    .finally(() => process.exit(0));
});
