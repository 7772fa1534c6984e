import type { Client } from '@temporalio/client';
import { procCpuSeconds, procStatusMb, resetPeakRss, RssSampler, waitUntil } from './proc.js';
import { spawnNode, type NodeChild } from '../../test/helpers/process.js';
import type { BenchEnv } from './env.js';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags.js';
import { freePort } from '../../scripts/lib/ports.js';

/**
 * The production worker entry (`worker/main.ts`, what `npm run worker` runs) as a child process, so
 * its memory is measured alone. It reads pages as large as the simulator allows (the client
 * honours the server's maximum page size).
 */
export interface WorkerProcess {
  pid: number;
  process: NodeChild;
  /** Kernel's peak RSS of the worker (VmHWM) since start or the last resetPeakRss(), MB. */
  peakRssMb(): number;
  /** Current RSS, MB. */
  rssMb(): number;
  /** Makes VmHWM start again from the current RSS (start-up, which bundles the workflow code, is not the sync). */
  resetPeakRss(): boolean;
  cpuSeconds(): number;
  /** Samples VmRSS until the returned function is called; it returns the sampled peak (MB). */
  sampleRss(): () => number;
  stop(): Promise<void>;
}

const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/**
 * Whether this very process polls the queue: Temporal lists recent pollers for a while after they
 * stop, so an earlier worker on the same queue would look like this one. The SDK's default
 * identity is `<pid>@<host>`.
 */
async function polls(client: Client, taskQueue: string, taskQueueType: number, pid: number): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: 1 },
    taskQueueType,
  });
  return (res.pollers ?? []).some((p) => (p.identity ?? '').startsWith(`${pid}@`));
}

export interface WorkerOptions {
  /** Extra node flags (profiling). */
  nodeArgs?: string[];
  /** Another entry point, for experiments (default: the production worker/main.ts). */
  entry?: string;
  extraEnv?: Record<string, string>;
}

export async function startWorkerProcess(
  env: BenchEnv,
  temporal: Client,
  options: WorkerOptions = {},
): Promise<WorkerProcess> {
  const child = spawnNode(options.entry ?? 'worker/main.ts', {
    label: 'worker',
    // The production flags first: a flag given for an experiment (--worker-node-args) overrides them.
    nodeArgs: [...WORKER_NODE_FLAGS, ...(options.nodeArgs ?? [])],
    env: {
      ...options.extraEnv,
      NODE_ENV: 'development',
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TEMPORAL_UI_URL: env.temporalUiUrl,
      TEMPORAL_TASK_QUEUE: env.taskQueue,
      SECRETS_KEY: env.secretsKey,
      ALLOW_INSECURE_POWERSCHOOL: 'true',
      LOG_LEVEL: 'warn',
      // A free port rather than the default 9464, so two benches on one machine do not collide.
      WORKER_METRICS_PORT: String(await freePort()),
    },
  });
  try {
    // Ready once it polls both task queues (it bundles the workflow code first: seconds).
    await waitUntil(
      'worker',
      async () =>
        (await polls(temporal, env.taskQueue, TASK_QUEUE_TYPE_WORKFLOW, child.pid)) &&
        (await polls(temporal, env.taskQueue, TASK_QUEUE_TYPE_ACTIVITY, child.pid))
          ? true
          : undefined,
      { timeoutMs: 120_000, intervalMs: 250, child },
    );
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    pid: child.pid,
    process: child,
    peakRssMb: () => procStatusMb(child.pid, 'VmHWM') ?? NaN,
    rssMb: () => procStatusMb(child.pid, 'VmRSS') ?? NaN,
    resetPeakRss: () => resetPeakRss(child.pid),
    cpuSeconds: () => procCpuSeconds(child.pid) ?? NaN,
    sampleRss() {
      const sampler = new RssSampler(child.pid).start();
      return () => sampler.stop();
    },
    stop: async () => void (await child.stop(30_000)),
  };
}
