// `npm run worker`: the worker process's entry point (config, connections, schedule reconciler,
// the Temporal worker of workflows/ and activities/ on TEMPORAL_TASK_QUEUE, graceful stop).

import { getHeapStatistics } from 'node:v8';
import closeWithGrace from 'close-with-grace';
import { loadConfigOrExit } from '../config.js';
import { createDb } from '../db/connection.js';
import { createLogger } from '../logging/logger.js';
import { connectClient, ensureSearchAttributes } from '../temporal/connection.js';
import { startScheduleReconciler } from '../services/schedule-reconciler.js';
import { createWorker } from './create-worker.js';
import { prometheusTelemetry } from './metrics.js';
import { WORKER_NODE_FLAGS } from './node-flags.js';
import { installRuntimeLogger } from './runtime-logger.js';

/** How long a graceful shutdown may take (running activities finishing) before the process exits anyway. */
const SHUTDOWN_DELAY_MS = 60_000;

const config = loadConfigOrExit('worker');
// The same redacting logger as the API: no credential reaches the worker's log either.
const logger = createLogger({ logLevel: config.logLevel, service: 'worker' });
// The SDK's Prometheus exporter serves its metrics and ours (worker/metrics.ts) on WORKER_METRICS_PORT.
const { workerPort: metricsPort } = config.metrics;
try {
  installRuntimeLogger(logger, metricsPort ? prometheusTelemetry(config.http.host, metricsPort) : undefined);
} catch (err) {
  // e.g. the port is taken: one line naming the variable, as for any configuration error.
  process.stderr.write(
    `Configuration error: WORKER_METRICS_PORT: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(78);
}

// The heap limit this worker runs with: WORKER_NODE_FLAGS caps it; started without them (plain
// `node worker/main.ts`), V8 sizes it from the machine's memory and the peak grows with the sync.
const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024);
logger.info({ heapLimitMb, recommendedFlags: WORKER_NODE_FLAGS.join(' ') }, 'worker heap limit');

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

// SIGINT/SIGTERM (and an uncaught error) shut the worker down gracefully: running activities
// finish or are handed back to Temporal, which resumes them on the next worker. A second signal,
// or a shutdown longer than the delay, exits at once.
const finished = (async () => {
  try {
    await sync.run();
  } finally {
    await reconciler.stop();
    await client.connection.close().catch(() => {});
    await db.destroy().catch(() => {});
  }
  logger.info('worker stopped');
})();
const grace = closeWithGrace(
  {
    delay: SHUTDOWN_DELAY_MS,
    logger: {
      error: (what: unknown) =>
        what instanceof Error ? logger.error({ err: what }, 'worker shutdown failed') : logger.error(String(what)),
    },
  },
  async ({ signal, err }) => {
    if (err) logger.error({ err }, 'worker stopping after an uncaught error');
    else logger.info({ signal }, 'worker stopping');
    sync.shutdown();
    await finished;
  },
);

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
  await finished;
} catch (err) {
  // The worker failed on its own (no signal): say so and exit non-zero once everything is closed.
  logger.error({ err }, 'worker failed');
  process.exitCode = 1;
} finally {
  grace.uninstall();
}
