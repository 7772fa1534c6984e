// The API process (npm run api): connect, re-seal secrets, listen, reconcile schedules, shut down gracefully.
import closeWithGrace from 'close-with-grace';
import { loadConfigOrExit } from '../config.js';
import { createDb } from '../db/connection.js';
import { SecretBox } from '../secrets/secret-box.js';
import { connectClient, ensureSearchAttributes } from '../temporal/connection.js';
import { reconcileSchedulesExclusively } from '../services/schedule-reconciler.js';
import { buildApp } from './app.js';
import { createApiMetrics, listenMetrics } from './plugins/metrics.js';
import { createLogger } from '../logging/logger.js';
import { resealSecrets } from './secrets-rotation.js';

/**
 * `npm run api`: connect, make sure Temporal knows our search attributes, re-seal secrets after a
 * key rotation, listen, then reconcile every school's schedule in the background (a large install
 * should not wait for it to serve; skipped if a worker is running a pass; an API write racing it
 * cannot be undone by it, see alignSchedule).
 */

async function main() {
  const config = loadConfigOrExit('api');
  const logger = createLogger(config);
  const db = createDb(config.databaseUrl, { applicationName: 'powerschool-sync-api' });
  const client = await connectClient(config);
  await ensureSearchAttributes(client, config.temporal.namespace);
  // Neither re-sealing nor reconciling may keep the API from serving: a failure is logged, and the
  // next start (API or worker) or the next write of that school repairs it.
  await resealSecrets(db, new SecretBox(config.secretsKeys), logger).catch((err: unknown) =>
    logger.error({ err }, 'could not re-seal client secrets; continuing'),
  );

  // Prometheus scrapes its own port (API_METRICS_PORT), never the API's.
  const metricsPort = config.metrics.apiPort;
  const metrics = metricsPort ? createApiMetrics(db, logger) : undefined;
  const app = await buildApp({
    config,
    db,
    temporalClient: client,
    logger,
    rateLimit: config.rateLimit ?? false,
    metrics,
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  const metricsServer =
    metrics && metricsPort ? await listenMetrics(metrics, config.http.host, metricsPort) : undefined;
  const reconciled = reconcileSchedulesExclusively({ db, client, config, logger, concurrency: 8 }).catch(
    (err: unknown) => logger.error({ err }, 'could not reconcile schedules; continuing'),
  );

  // SIGINT/SIGTERM (and an uncaught error): stop accepting requests, finish the ones in flight and
  // the reconcile pass, close the pools; exit 0, or 1 if that takes longer than 15 s.
  closeWithGrace({ delay: 15_000, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an uncaught error');
    else logger.info({ signal }, 'shutting down');
    await app.close();
    await metricsServer?.close();
    await reconciled;
    await db.destroy();
    await client.connection.close();
  });
}

main().catch((err) => {
  process.stderr.write(`API failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
