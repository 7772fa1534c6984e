import { testEnv } from './env.js';
import { spawnNode, type NodeChild } from './process.js';

/** What a test sets for `npm run worker` as a child process; the rest comes from the test environment. */
export interface WorkerProcessOptions {
  databaseUrl: string;
  taskQueue: string;
  temporalAddress?: string;
  /** Receives everything the worker writes (e.g. a LogSink for the personal-data scan). */
  logs?: { push(text: string): void };
  /** Overrides and additions (LOG_LEVEL is debug unless set here). */
  env?: Record<string, string>;
}

/**
 * `worker/main.ts` as a child process (one process, so SIGKILL hits the worker itself). Resolves
 * once the worker logs that it started; rejects with its output if it exits first.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<NodeChild> {
  const worker = spawnNode('worker/main.ts', {
    label: 'worker',
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress ?? testEnv.temporalAddress,
      TEMPORAL_UI_URL: testEnv.temporalUiUrl,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      ALLOW_INSECURE_POWERSCHOOL: 'true',
      LOG_LEVEL: 'debug',
      ...options.env,
    },
    onOutput: options.logs ? (text) => options.logs!.push(text) : undefined,
  });
  try {
    await worker.waitForOutput('"msg":"worker started"', 60_000);
  } catch (err) {
    await worker.kill();
    throw err;
  }
  return worker;
}
