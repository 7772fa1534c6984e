import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ConfigError, loadConfig } from '../../config.js';
import type { Db } from '../../db/connection.js';
import type { Simulator } from '../../simulator/index.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import { putIntegration, startSync, startSyncWorker, startTestSimulator, syncTestConfig } from '../sync/harness.js';

/**
 * Worker Versioning is opt-in: WORKER_BUILD_ID + WORKER_DEPLOYMENT_NAME make the worker poll as
 * that Worker Deployment Version with its workflows PINNED. Proven on the real server (1.29.1).
 */

const { PendingWorkflowTaskState, TaskQueueKind, TaskQueueType, VersioningBehavior, WorkerVersioningMode } =
  proto.temporal.api.enums.v1;
const run = promisify(execFile);

describe('worker versioning: configuration', () => {
  const base = { NODE_ENV: 'test' };

  it('is off unless both variables are set', () => {
    expect(loadConfig(base, 'worker').workerDeployment).toBeNull();
    expect(
      loadConfig({ ...base, WORKER_BUILD_ID: 'b1', WORKER_DEPLOYMENT_NAME: 'powerschool-sync' }, 'worker')
        .workerDeployment,
    ).toEqual({ deploymentName: 'powerschool-sync', buildId: 'b1' });
  });

  it('names the missing one when only one is set, and refuses names Temporal refuses', () => {
    expect(() => loadConfig({ ...base, WORKER_BUILD_ID: 'b1' }, 'worker')).toThrow(
      new ConfigError('WORKER_DEPLOYMENT_NAME: required when WORKER_BUILD_ID is set (Worker Versioning needs both)'),
    );
    expect(() => loadConfig({ ...base, WORKER_DEPLOYMENT_NAME: 'powerschool-sync' }, 'worker')).toThrow(
      /^WORKER_BUILD_ID: required when WORKER_DEPLOYMENT_NAME is set/,
    );
    for (const name of ['powerschool.sync', 'a:b', '__x'])
      expect(() => loadConfig({ ...base, WORKER_BUILD_ID: 'b1', WORKER_DEPLOYMENT_NAME: name }, 'worker')).toThrow(
        /^WORKER_DEPLOYMENT_NAME: /,
      );
  });
});

describe('worker versioning on a real Temporal server', () => {
  let db: Db;
  let client: Client;
  let sim: Simulator;
  beforeAll(async () => {
    db = testDb();
    client = await testClient();
    sim = await startTestSimulator({ students: 120 });
  });
  afterAll(async () => {
    await sim?.close();
    await client?.connection.close();
    await db?.destroy();
  });

  it('a versioned worker takes no task until its version is current, then runs syncStudents PINNED to it', async () => {
    const deploymentName = `pss-test-${randomUUID().slice(0, 8)}`;
    const buildId = 'build-a';
    const config = syncTestConfig({ WORKER_DEPLOYMENT_NAME: deploymentName, WORKER_BUILD_ID: buildId });
    const taskQueue = uniqueTaskQueue('versioned');
    const schoolId = uniqueSchoolId('versioned');
    await putIntegration(db, config, schoolId, sim);
    const worker = await startSyncWorker(client, config, db, { taskQueue });
    try {
      // The worker polls as its version…
      await vi.waitFor(
        async () => {
          const res = await client.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          });
          const poller = res.pollers?.find((p) => p.deploymentOptions?.deploymentName === deploymentName);
          expect(poller?.deploymentOptions).toMatchObject({
            buildId,
            workerVersioningMode: WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED,
          });
        },
        { timeout: 30_000, interval: 200 },
      );
      const handle = await startSync(client, taskQueue, { schoolId, trigger: 'manual' });
      // …but the version is not current yet, so the run's first workflow task stays undelivered.
      await vi.waitFor(
        async () => {
          const { raw } = await handle.describe();
          expect(raw.pendingWorkflowTask?.state).toBe(PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED);
        },
        { timeout: 10_000, interval: 100 },
      );
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.workflowTaskStartedEventAttributes)).toBe(false);

      // The server learns of a version from its pollers a moment after the first poll: retry until then.
      const setCurrent = () =>
        run(testEnv.temporalCliPath, [
          'worker',
          'deployment',
          'set-current-version',
          '--deployment-name',
          deploymentName,
          '--build-id',
          buildId,
          '--yes',
          '--address',
          testEnv.temporalAddress,
        ]);
      await vi.waitFor(setCurrent, { timeout: 30_000, interval: 500 });
      const result = (await handle.result()) as { status: string };
      expect(result.status).toBe('succeeded');
      const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
      expect(info?.behavior).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
      expect(info?.deploymentVersion).toMatchObject({ deploymentName, buildId });
    } finally {
      await worker.stop();
    }
  });
});
