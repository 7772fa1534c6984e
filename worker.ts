import { loadConfigOrExit } from './config.js';
import { createDb } from './db/connection.js';
import { createLogger } from './logging/logger.js';
import { connectClient, ensureSearchAttributes } from './temporal/connection.js';
import { startScheduleReconciler } from './services/schedule-reconciler.js';
import { createWorker } from './worker/create-worker.js';
import { installRuntimeLogger } from './worker/runtime-logger.js';

/**
 * `npm run worker`: the Temporal worker of the sync pipeline (workflows/ and activities/ on
 * TEMPORAL_TASK_QUEUE). Stops gracefully on SIGINT/SIGTERM: running activities finish or are
 * handed back to Temporal, which resumes them on the next worker.
 */
const config = loadConfigOrExit('worker');
// The same redacting logger as the API: no credential reaches the worker's log either.
const logger = createLogger({ logLevel: config.logLevel, service: 'worker' });
installRuntimeLogger(logger);

const db = createDb(config.databaseUrl, { applicationName: 'powerschool-sync-worker' });
const client = await connectClient(config);
await ensureSearchAttributes(client, config.temporal.namespace);

// The database is the source of truth for schedules: repair any drift now and every
// SCHEDULE_RECONCILE_INTERVAL, one pass at a time across the fleet. A failed pass is logged and
// never keeps the worker from running the syncs that are already scheduled.
const reconciler = startScheduleReconciler({
  db,
  client,
  config,
  logger,
  intervalMs: config.scheduleReconcileIntervalMs,
});

const sync = await createWorker(config, {
  db,
  temporalClient: client,
  logger,
  ...(config.workflowBundlePath ? { workflowBundle: { codePath: config.workflowBundlePath } } : {}),
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping');
    sync.shutdown();
  });
}

logger.info(
  {
    taskQueue: sync.taskQueue,
    namespace: config.temporal.namespace,
    temporal: config.temporal.address,
    email: config.email.resendApiKey ? 'resend' : 'outbox',
  },
  'worker started',
);
try {
  await sync.run();
} finally {
  await reconciler.stop();
  await client.connection.close().catch(() => {});
  await db.destroy().catch(() => {});
}
logger.info('worker stopped');
