import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Db } from '../../db/connection.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { freePort } from '../../scripts/lib/ports.js';
import { startTemporalDevServer, type DevServer } from '../../scripts/lib/temporal-dev-server.js';
import { createWorker, type SyncWorker } from '../../worker/create-worker.js';
import { testDb } from '../helpers/db.js';
import { testEnv, uniqueSchoolId, uniqueTaskQueue, workflowBundle } from '../helpers/env.js';
import { putIntegration, runRow, startSync, syncTestConfig } from '../sync/harness.js';
import {
  ALL_GRADES,
  expectExactStudents,
  inScopeOf,
  LogSink,
  markerStudent,
  report,
  scanRunsForPersonalData,
  sinkLogger,
  SOAK,
} from './support.js';

/**
 * the Temporal server stopped and restarted in the middle of a run. This file starts a
 * dev server of its own with a persistent SQLite file (--db-filename), runs a worker against it,
 * stops the server mid-fetch, starts it again on the same ports and file, and the run completes
 * with exact results. A worker whose run() gives up while the server is away is replaced, as a
 * process supervisor would.
 */
const SEEDED = SOAK ? 8_000 : 1_200;
const PAGE_SIZE = SOAK ? 50 : 20;
const DOWN_MS = 5_000;

describe('reliability: the Temporal server stopped and restarted mid-run', () => {
  const logs = new LogSink();
  const workflowIds: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'pss-temporal-restart-'));
  const dbFile = join(tmp, 'temporal.sqlite');
  let port: number;
  let uiPort: number;
  let server: DevServer | undefined;
  let client: Client;
  let db: Db;
  let sim: Simulator;

  const startServer = () => startTemporalDevServer({ cliPath: testEnv.temporalCliPath, port, uiPort, dbFile });

  beforeAll(async () => {
    [port, uiPort] = [await freePort(), await freePort()];
    server = await startServer();
    client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
    db = testDb();
    sim = await startSimulator({ students: SEEDED, seed: 2718, maxPageSize: PAGE_SIZE, faults: { latencyMs: 25 } });
    sim.students.add({ ...markerStudent('Tmp'), grade_level: 12, enroll_status: 0 });
  }, 180_000);
  afterAll(async () => {
    await client?.connection.close().catch(() => {});
    await server?.stop();
    await sim?.close();
    await db?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('stop the server mid-fetch, start it again on the same file: the run completes, exact results', async () => {
    const started = Date.now();
    const config = syncTestConfig({ TEMPORAL_ADDRESS: server!.address });
    const taskQueue = uniqueTaskQueue('restart');
    const workers: { sync: SyncWorker; done: boolean; failure?: unknown }[] = [];
    const startWorker = async () => {
      const connection = await NativeConnection.connect({ address: server!.address });
      const sync = await createWorker(config, {
        db,
        connection,
        temporalClient: client,
        workflowBundle: workflowBundle(),
        logger: sinkLogger(logs),
        taskQueue,
      });
      const entry: (typeof workers)[number] = { sync, done: false };
      void sync
        .run()
        .catch((err: unknown) => (entry.failure = err))
        .finally(async () => {
          entry.done = true;
          await connection.close().catch(() => {});
        });
      workers.push(entry);
    };

    try {
      await startWorker();
      const schoolId = uniqueSchoolId('restart');
      const mapping = { powerschoolId: 'STUDENT_NUMBER' as const, dateOfBirth: false, gender: true };
      await putIntegration(db, config, schoolId, sim, { grades: ALL_GRADES, mapping });
      const inScope = inScopeOf(sim);
      const pagesTotal = Math.ceil(inScope.length / PAGE_SIZE);
      const handle = await startSync(client, taskQueue, { schoolId, trigger: 'manual' });
      workflowIds.push(handle.workflowId);
      const pagesFetched = async () => (await runRow(db, handle.workflowId).catch(() => null))?.pages_fetched ?? 0;

      const stopAt = Math.ceil(pagesTotal / 3);
      await vi.waitFor(async () => expect(await pagesFetched()).toBeGreaterThanOrEqual(stopAt), {
        timeout: 120_000,
        interval: 50,
      });
      await server!.stop();
      const pagesAtStop = await pagesFetched();
      await setTimeout(DOWN_MS); // the outage itself: Temporal stays down this long
      const pagesWhileDown = await pagesFetched();
      expect(pagesWhileDown - pagesAtStop).toBeLessThanOrEqual(1); // at most the page in flight
      server = await startServer();
      if (workers.every((w) => w.done)) await startWorker();

      const result = await handle.result();
      expect(result).toMatchObject({
        status: 'succeeded',
        counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
      });
      expect(pagesAtStop).toBeLessThan(pagesTotal);
      const exact = await expectExactStudents(db, schoolId, inScope, mapping);
      expect(await runRow(db, handle.workflowId)).toMatchObject({
        status: 'succeeded',
        records_fetched: inScope.length,
      });
      // The history survived the restart: one history from start to completion, the reading in it.
      const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
      const events = history.events ?? [];
      expect(events[0]?.workflowExecutionStartedEventAttributes).toBeTruthy();
      expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
      const fetches = events.filter((e) =>
        /^fetch/.test(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
      ).length;
      expect(fetches).toBeGreaterThanOrEqual(1);

      report('Temporal server stopped and restarted', {
        seeded: SEEDED + 1,
        inScope: inScope.length,
        pageSize: PAGE_SIZE,
        pagesTotal,
        stoppedAtPage: pagesAtStop,
        downSeconds: DOWN_MS / 1000,
        serverRestarts: 1,
        workersStarted: workers.length,
        workerRunFailures: workers.filter((w) => w.failure).length,
        historyEvents: events.length,
        fetchActivities: fetches,
        recordsChecked: exact.checked,
        lost: exact.lost,
        duplicates: exact.duplicates,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    } finally {
      for (const w of workers) if (!w.done) w.sync.shutdown();
      await vi
        .waitFor(() => expect(workers.every((w) => w.done)).toBe(true), { timeout: 60_000, interval: 50 })
        .catch(() => {});
    }
  }, 300_000);

  it('no personal data in the run history, its search attributes or the worker’s logs', async () => {
    const students = [...sim.students.list(), markerStudent('Tmp')];
    const findings = await scanRunsForPersonalData(client, {
      workflowIds,
      logs,
      students,
      secrets: [sim.clientSecret],
    });
    expect(workflowIds).toHaveLength(1);
    expect(findings).toEqual([]);
    report('Temporal restart: personal-data scan', {
      histories: workflowIds.length,
      logLines: logs.lines(),
      studentsSearchedFor: students.length,
      findings: findings.length,
    });
  });
});
