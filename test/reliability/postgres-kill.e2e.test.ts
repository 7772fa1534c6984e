import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connection.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { PROGRESS_QUERY } from '../../workflows/types.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runRow, startSync, startSyncWorker, syncTestConfig } from '../sync/harness.js';
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
 * the worker's PostgreSQL connections terminated (`pg_terminate_backend`) in the middle
 * of statements, three times in one run: twice while pages are staged, once inside the apply
 * transaction. Each time the test first makes the worker wait on a lock it holds (a row of this
 * run, or a student row of this school, so other tests sharing the database are not touched),
 * sees the worker's backend waiting in pg_stat_activity, and terminates every backend of the
 * worker's pool (found by its application_name). The run completes with exact results.
 */
const SEEDED = SOAK ? 12_000 : 1_500;
const PAGE_SIZE = SOAK ? 100 : 25;

describe('reliability: PostgreSQL connections killed mid-run', () => {
  const logs = new LogSink();
  const appName = `powerschool-sync-worker-${randomUUID().slice(0, 8)}`;
  const workflowIds: string[] = [];
  let db: Db;
  let workerDb: Db;
  let client: Client;
  let sim: Simulator;
  let locker: pg.Client;
  /** Watches and terminates from outside the locker's transaction: pg_stat_activity is a snapshot per transaction. */
  let admin: pg.Client;

  beforeAll(async () => {
    db = testDb();
    // The production pool (db/connection.ts), under a name of its own so only it is terminated.
    workerDb = testDb({ applicationName: appName });
    client = await testClient();
    sim = await startSimulator({ students: SEEDED, seed: 313, maxPageSize: PAGE_SIZE, faults: { latencyMs: 10 } });
    sim.students.add({ ...markerStudent('Pg'), grade_level: 9, enroll_status: 0 });
    locker = new pg.Client({ connectionString: testEnv.databaseUrl, application_name: 'reliability-locker' });
    await locker.connect();
    admin = new pg.Client({ connectionString: testEnv.databaseUrl, application_name: 'reliability-admin' });
    await admin.connect();
  });
  afterAll(async () => {
    await locker?.query('rollback').catch(() => {});
    await locker?.end();
    await admin?.end();
    await sim?.close();
    await workerDb?.destroy();
    await db?.destroy();
    await client?.connection.close();
  });

  /** Waits until one of the worker's backends waits on a lock, then terminates all of them. */
  async function terminateWhenWaiting(): Promise<{ terminated: number; waitingQuery: string }> {
    const waiting = await vi.waitFor(
      async () => {
        const { rows } = await admin.query<{ query: string }>(
          `select query from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
          [appName],
        );
        expect(rows[0], 'a worker backend waiting on our lock').toBeDefined();
        return rows[0]!;
      },
      { timeout: 180_000, interval: 50 },
    );
    const killed = await admin.query<{ ok: boolean }>(
      `select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1`,
      [appName],
    );
    return { terminated: killed.rows.filter((r) => r.ok).length, waitingQuery: waiting.query.replace(/\s+/g, ' ') };
  }

  it('three rounds of pg_terminate_backend (fetch, fetch, apply): the run completes with exact results', async () => {
    const started = Date.now();
    const config = syncTestConfig();
    const worker = await startSyncWorker(client, config, workerDb, { logger: sinkLogger(logs) });
    try {
      const schoolId = uniqueSchoolId('pgkill');
      const mapping = { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: false };
      await putIntegration(db, config, schoolId, sim, { grades: ALL_GRADES, mapping });
      const inScope = inScopeOf(sim);
      const pagesTotal = Math.ceil(inScope.length / PAGE_SIZE);

      const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      workflowIds.push(handle.workflowId);
      const pagesFetched = async () => (await runRow(db, handle.workflowId).catch(() => null))?.pages_fetched ?? 0;
      const rounds: string[] = [];
      let terminated = 0;

      // Rounds 1 and 2: hold this run's row; the next page's progress update waits on it.
      for (const atPage of [2, Math.ceil(pagesTotal / 2)]) {
        await vi.waitFor(async () => expect(await pagesFetched()).toBeGreaterThanOrEqual(atPage), {
          timeout: 180_000,
          interval: 50,
        });
        await locker.query('begin');
        await locker.query('select 1 from runs where id = $1 for update', [handle.workflowId]);
        const round = await terminateWhenWaiting();
        await locker.query('rollback');
        terminated += round.terminated;
        rounds.push(`page ${await pagesFetched()}: ${round.terminated} backends (${round.waitingQuery.slice(0, 40)}…)`);
        expect((await runRow(db, handle.workflowId)).status).toBe('running');
      }

      // Round 3: an uncommitted student row of this school with a DCID the commit will insert;
      // the apply's INSERT waits on it inside its transaction.
      await locker.query('begin');
      await locker.query(
        `insert into students (school_id, dcid, first_name, last_name, graduation_year) values ($1, $2, 'x', 'y', 2030)`,
        [schoolId, inScope.at(-1)!.dcid],
      );
      const round3 = await terminateWhenWaiting();
      expect((await handle.query<{ phase: string }>(PROGRESS_QUERY)).phase).toBe('applying');
      expect((await runRow(db, handle.workflowId)).applied_at).toBeNull();
      await locker.query('rollback');
      terminated += round3.terminated;
      rounds.push(`apply: ${round3.terminated} backends (${round3.waitingQuery.slice(0, 40)}…)`);

      const result = await handle.result();
      expect(result).toMatchObject({
        status: 'succeeded',
        counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
      });
      const exact = await expectExactStudents(db, schoolId, inScope, mapping);
      const run = await runRow(db, handle.workflowId);
      expect(run).toMatchObject({
        status: 'succeeded',
        records_fetched: inScope.length,
        count_created: inScope.length,
      });
      const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
      const retried = (history.events ?? []).filter(
        (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
      ).length;
      // Two rounds may hit attempts of the same activity, so at least one retried activity.
      expect(retried).toBeGreaterThanOrEqual(1);

      report('PostgreSQL connections terminated ×3', {
        seeded: SEEDED + 1,
        inScope: inScope.length,
        pageSize: PAGE_SIZE,
        pagesTotal,
        rounds: rounds.join('; '),
        backendsTerminated: terminated,
        activitiesRetried: retried,
        recordsChecked: exact.checked,
        lost: exact.lost,
        duplicates: exact.duplicates,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    } finally {
      await worker.stop();
    }
  }, 300_000);

  it('no personal data in the run history, its search attributes or the worker’s logs', async () => {
    const students = [...sim.students.list(), markerStudent('Pg')];
    const findings = await scanRunsForPersonalData(client, {
      workflowIds,
      logs,
      students,
      secrets: [sim.clientSecret],
    });
    expect(workflowIds).toHaveLength(1);
    expect(findings).toEqual([]);
    report('PostgreSQL kill: personal-data scan', {
      histories: workflowIds.length,
      logLines: logs.lines(),
      studentsSearchedFor: students.length,
      findings: findings.length,
    });
  });
});
