import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/lib/go-build.js';
import { createTestWorker, testEnv, uniqueTaskQueue } from '../helpers/env.js';

/** The compose file's worker healthcheck (deploy/worker-healthcheck.ts), against the real server. */

const run = promisify(execFile);

async function healthcheck(
  taskQueue: string,
  address = testEnv.temporalAddress,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'deploy/worker-healthcheck.ts'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: taskQueue },
    });
    return { code: 0, output: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, output: e.stdout };
  }
}

describe('worker healthcheck', () => {
  it('is healthy while a worker of this host polls the task queue, unhealthy when none does', async () => {
    const taskQueue = uniqueTaskQueue('health');
    expect(await healthcheck(taskQueue)).toEqual({ code: 1, output: 'unhealthy: no poller of this container\n' });
    const worker = await createTestWorker({ taskQueue, activities: {} });
    const running = worker.run();
    try {
      await expect
        .poll(() => healthcheck(taskQueue), { timeout: 20_000, interval: 200 })
        .toEqual({
          code: 0,
          output: 'healthy: this container polls the task queue\n',
        });
    } finally {
      worker.shutdown();
      await running;
    }
  });

  it('is unhealthy when Temporal does not answer', async () => {
    const { code, output } = await healthcheck(uniqueTaskQueue('health'), '127.0.0.1:1');
    expect(code).toBe(1);
    expect(output).toMatch(/^unhealthy: /);
  });
});
