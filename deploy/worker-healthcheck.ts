import { hostname } from 'node:os';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { loadConfig } from '../config.js';

/**
 * Healthcheck of a worker container (docker-compose.yml): healthy while Temporal has seen a worker
 * of this container poll the task queue lately. A worker's identity is the SDK's default,
 * `pid@hostname`, and every process of a container shares its hostname. Exit 0 healthy, 1 not.
 *
 *   node --import tsx deploy/worker-healthcheck.ts
 */

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;
/** A polling worker renews its long poll at least every minute. */
const RECENT_MS = 90_000;

const config = loadConfig(process.env, 'tool');
const ours = `@${hostname()}`;
try {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 5000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: config.temporal.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const polling = (res.pollers ?? []).some((p) => {
      const seconds = Number(p.lastAccessTime?.seconds ?? 0);
      return p.identity?.endsWith(ours) && Date.now() - seconds * 1000 < RECENT_MS;
    });
    console.log(polling ? 'healthy: this container polls the task queue' : 'unhealthy: no poller of this container');
    process.exitCode = polling ? 0 : 1;
  } finally {
    await connection.close();
  }
} catch (err) {
  console.log(`unhealthy: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
