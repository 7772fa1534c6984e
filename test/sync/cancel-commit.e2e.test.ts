import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../../db/connection.js';
import type { Simulator } from '../../simulator/index.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv, uniqueSchoolId } from '../helpers/env.js';
import {
  putIntegration,
  runRow,
  startSync,
  startSyncWorker,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

/**
 * Cancelling a run while its commit transaction is in flight. Whatever the timing, the run's
 * status and its students agree: either the commit is rolled back and the run is `cancelled`, or
 * the commit landed and the run is `succeeded` — never students written under a cancelled run.
 *
 * The commit is held inside its transaction by an uncommitted student row (same school and DCID)
 * that the test's own connection inserted, so the cancel always arrives mid-commit.
 */
describe('sync pipeline: cancelling during the commit', () => {
  const config = syncTestConfig();
  // The worker's pool has a name of its own, so its backends are told apart from other tests'.
  const workerAppName = `pss-cancel-commit-${randomUUID().slice(0, 8)}`;
  let db: Db;
  let client: Client;
  let worker: Awaited<ReturnType<typeof startSyncWorker>>;
  let sim: Simulator;

  beforeAll(async () => {
    db = testDb({ applicationName: workerAppName });
    client = await testClient();
    sim = await startTestSimulator({ students: 80, seed: 93 });
    worker = await startSyncWorker(client, config, db);
  });
  afterAll(async () => {
    await worker?.stop();
    await sim?.close();
    await db?.destroy();
    await client?.connection.close();
  });

  /** Holds the commit of `schoolId` inside its transaction until released. */
  async function holdCommit(schoolId: string, dcid: number) {
    const locker = new pg.Client({ connectionString: testEnv.databaseUrl, application_name: 'pss-commit-locker' });
    await locker.connect();
    await locker.query('begin');
    await locker.query(
      `insert into students (school_id, dcid, first_name, last_name, graduation_year) values ($1, $2, 'x', 'y', 2030)`,
      [schoolId, dcid],
    );
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await locker.query('rollback');
      await locker.end();
    };
  }

  /** Until the worker's commit waits on the held row, inside its transaction. */
  async function commitWaiting(): Promise<void> {
    await vi.waitFor(
      async () => {
        const { rows } = await sql`
          select pid from pg_stat_activity
          where application_name = ${workerAppName} and wait_event_type = 'Lock' and query ilike '%insert into students%'
        `.execute(db);
        expect(rows).toHaveLength(1);
      },
      { timeout: 30_000, interval: 100 },
    );
  }

  async function cancelRequestedOnActivity(handle: Awaited<ReturnType<typeof startSync>>): Promise<void> {
    await vi.waitFor(
      async () => {
        const history = await handle.fetchHistory();
        expect(history.events?.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
  }

  it('a cancel reaching the commit rolls it back: the run ends cancelled and no student is written', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim);
    const release = await holdCommit(schoolId, sim.students.inScope(9, 12)[0]!.dcid);
    let handle: Awaited<ReturnType<typeof startSync>>;
    try {
      handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      await commitWaiting();
      await handle.cancel();
      // The run ends while the commit is still held: its statement is cancelled in PostgreSQL
      // and the transaction rolled back, rather than waited out. (The activity learns of the
      // cancel at its next heartbeat the SDK sends: up to 80% of the 30 s heartbeat timeout.)
      await vi.waitFor(async () => expect((await handle.describe()).status.name).not.toBe('RUNNING'), {
        timeout: 45_000,
        interval: 250,
      });
    } finally {
      await release();
    }
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const run = await runRow(db, handle.workflowId);
    expect(run).toMatchObject({ status: 'cancelled', error_code: 'CANCELLED', applied_at: null });
    expect(await studentsOf(db, schoolId)).toEqual([]);
    const changes = await db.selectFrom('run_changes').select('dcid').where('run_id', '=', run.id).execute();
    expect(changes).toEqual([]);
  }, 90_000);

  it('a cancel that comes after the commit landed records the run succeeded, in the row and in Temporal', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim);
    const inScope = sim.students.inScope(9, 12);
    const release = await holdCommit(schoolId, inScope[0]!.dcid);
    let handle: Awaited<ReturnType<typeof startSync>>;
    try {
      handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      await commitWaiting();
      await handle.cancel();
      // Temporal has asked the activity to stop; the commit goes through before the activity hears of it.
      await cancelRequestedOnActivity(handle);
    } finally {
      await release();
    }
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'succeeded', counts: { created: inScope.length } });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const run = await runRow(db, handle.workflowId);
    expect(run).toMatchObject({ status: 'succeeded', error_code: null, count_created: inScope.length });
    expect(run.applied_at).not.toBeNull();
    expect(await studentsOf(db, schoolId)).toHaveLength(inScope.length);
  }, 90_000);
});
