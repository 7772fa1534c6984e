import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { sql } from 'kysely';
import pg from 'pg';
import { createActivities } from '../../activities/index.js';
import { createDb, LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';
import { OutboxEmailSender } from '../../email/sender.js';
import type { Simulator } from '../../simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { scheduleIdFor, SYNC_WORKFLOW_RUN_TIMEOUT } from '../../workflows/types.js';
import { createNamespace, settings, startTestApi, type TestApi } from '../api/support.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv, uniqueSchoolId } from '../helpers/env.js';
import {
  newRunId,
  putIntegration,
  startSyncWorker,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

const THIRTY_ONE_DAYS_S = 31 * 24 * 3600;

/** Nothing waits for ever: database statements and lock waits, and every workflow execution. */
describe('bounded waits', () => {
  describe('database', () => {
    const config = syncTestConfig();
    let sim: Simulator;
    let locker: pg.Client;

    beforeAll(async () => {
      sim = await startTestSimulator({ students: 60, seed: 111 });
      locker = new pg.Client({ connectionString: testEnv.databaseUrl, application_name: 'pss-bounded-locker' });
      await locker.connect();
    });
    afterAll(async () => {
      await locker?.end();
      await sim?.close();
    });

    it('every pool connection carries the statement and lock timeouts', async () => {
      const db = createDb(testEnv.databaseUrl, { max: 1 });
      try {
        const { rows } = await sql<{ statement: string; lock: string }>`
          select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock
        `.execute(db);
        expect(rows[0]).toEqual({ statement: `${STATEMENT_TIMEOUT_MS / 1000}s`, lock: `${LOCK_TIMEOUT_MS / 1000}s` });
      } finally {
        await db.destroy();
      }
    });

    it('a statement that runs past the timeout, or waits past the lock timeout, fails with a clear error', async () => {
      const db = createDb(testEnv.databaseUrl, { max: 1, statementTimeoutMs: 300, lockTimeoutMs: 200 });
      try {
        const started = Date.now();
        await expect(sql`select pg_sleep(5)`.execute(db)).rejects.toThrow(
          'canceling statement due to statement timeout',
        );
        expect(Date.now() - started).toBeLessThan(3_000);

        const schoolId = uniqueSchoolId();
        await putIntegration(db, config, schoolId, sim);
        await locker.query('begin');
        try {
          await locker.query('select 1 from integrations where school_id = $1 for update', [schoolId]);
          await expect(
            db.selectFrom('integrations').select('school_id').where('school_id', '=', schoolId).forUpdate().execute(),
          ).rejects.toThrow('canceling statement due to lock timeout');
        } finally {
          await locker.query('rollback');
        }
        // The pool is healthy afterwards.
        expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
      } finally {
        await db.destroy();
      }
    });

    it('the diff raises its own limits: a commit held past the pool timeouts still lands', async () => {
      const appName = `pss-bounded-diff-${randomUUID().slice(0, 8)}`;
      const db = testDb({
        max: 3,
        applicationName: appName,
        statementTimeoutMs: 300,
        lockTimeoutMs: 300,
      });
      const env = new MockActivityEnvironment();
      const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
        env.run(fn, ...args) as Promise<R>;
      try {
        const activities = createActivities({
          db,
          config,
          secretBox: new SecretBox(config.secretsKeys),
          emailSender: new OutboxEmailSender(db),
        });
        const schoolId = uniqueSchoolId();
        await putIntegration(db, config, schoolId, sim);
        const runId = newRunId(schoolId);
        await run(activities.beginRun, { runId, temporalRunId: 'r', schoolId, trigger: 'manual', testRun: false });
        const plan = await run(activities.planRun, { runId });
        let page: number | null = 1;
        let afterDcid: string | null = null;
        while (page !== null) {
          const fetched: Awaited<ReturnType<typeof activities.fetchPage>> = await run(activities.fetchPage, {
            runId,
            page,
            pageSize: plan.pageSize,
            afterDcid,
          });
          page = fetched.nextPage;
          afterDcid = fetched.lastDcid;
        }

        // An uncommitted row with a DCID the commit inserts: the commit's INSERT waits on it.
        const inScope = sim.students.inScope(9, 12);
        await locker.query('begin');
        let applied: Promise<unknown>;
        try {
          await locker.query(
            `insert into students (school_id, dcid, first_name, last_name, graduation_year) values ($1, $2, 'x', 'y', 2030)`,
            [schoolId, inScope[0]!.dcid],
          );
          applied = run(activities.applyRun, { runId });
          applied.catch(() => undefined);
          // Held well past the pool's 300 ms (measured by PostgreSQL on the waiting statement itself).
          await vi.waitFor(
            async () => {
              const { rows } = await locker.query(
                `select 1 from pg_stat_activity
                 where application_name = $1 and wait_event_type = 'Lock' and clock_timestamp() - query_start > interval '1 second'`,
                [appName],
              );
              expect(rows).toHaveLength(1);
            },
            { timeout: 10_000, interval: 100 },
          );
        } finally {
          await locker.query('rollback');
        }
        expect(await applied).toMatchObject({ created: inScope.length });
        expect(await studentsOf(db, schoolId)).toHaveLength(inScope.length);
      } finally {
        await db.destroy();
      }
    });

    it('migrations are not bound by the pool timeouts (a schema change may take long)', async () => {
      const url = new URL(testEnv.databaseUrl);
      url.pathname = `/pss_bounded_${process.pid}_${Date.now().toString(36)}`;
      await ensureDatabase(url.toString());
      // 1 ms: without lifting the limits, creating the tables would be cancelled.
      const db = createDb(url.toString(), { max: 1, statementTimeoutMs: 1, lockTimeoutMs: 1 });
      try {
        const result = await migrateToLatest(db);
        expect(result.results?.length).toBeGreaterThan(0);
        expect(result.results?.every((r) => r.status === 'Success')).toBe(true);
        // The connection goes back to the pool with its limits restored.
        await expect(sql`select pg_sleep(0.05)`.execute(db)).rejects.toThrow('statement timeout');
      } finally {
        await db.destroy();
        await dropDatabase(url.toString());
      }
    });
  });

  describe('workflow run timeout', () => {
    let api: TestApi;
    let client: Client;

    beforeAll(async () => {
      api = await startTestApi({ env: { TEMPORAL_NAMESPACE: await createNamespace('bounded-waits') } });
      client = await testClient();
    });
    afterAll(async () => {
      await api?.close();
      await client?.connection.close();
    });

    it(`is ${SYNC_WORKFLOW_RUN_TIMEOUT} on a run started through the API and on each school's schedule`, async () => {
      const schoolId = uniqueSchoolId();
      const put = await api.req({
        method: 'PUT',
        url: `/v1/schools/${schoolId}/integration`,
        payload: settings({ active: true }),
      });
      expect(put.statusCode).toBe(201);

      const schedule = await api.client.schedule.getHandle(scheduleIdFor(schoolId)).describe();
      expect(schedule.action.type).toBe('startWorkflow');
      expect(schedule.action.workflowRunTimeout).toBe(THIRTY_ONE_DAYS_S * 1000);

      const started = await api.req({ method: 'POST', url: `/v1/schools/${schoolId}/runs`, payload: {} });
      expect(started.statusCode).toBe(202);
      const { id } = started.json<{ id: string }>();
      const handle = api.client.workflow.getHandle(id);
      try {
        const description = await handle.describe();
        expect(Number(description.raw.executionConfig?.workflowRunTimeout?.seconds)).toBe(THIRTY_ONE_DAYS_S);
      } finally {
        await handle.terminate('test done');
      }
    });

    it('continue-as-new carries the run timeout into every execution', async () => {
      const config = syncTestConfig();
      const sim = await startTestSimulator({ students: 300, seed: 112 });
      const db = testDb({ max: 3 });
      const worker = await startSyncWorker(client, config, db);
      try {
        const schoolId = uniqueSchoolId();
        await putIntegration(db, config, schoolId, sim);
        const handle = await client.workflow.start('syncStudents', {
          taskQueue: worker.taskQueue,
          workflowId: newRunId(schoolId),
          args: [{ schoolId, trigger: 'manual', options: { pagesPerExecution: 1 } }],
          workflowRunTimeout: SYNC_WORKFLOW_RUN_TIMEOUT,
        });
        await handle.result();
        // Follow the chain of executions from the first one.
        const runTimeouts: number[] = [];
        for (let runId: string | null | undefined = handle.firstExecutionRunId; runId;) {
          const execution: WorkflowHandle = client.workflow.getHandle(handle.workflowId, runId);
          const d = await execution.describe();
          runTimeouts.push(Number(d.raw.executionConfig?.workflowRunTimeout?.seconds));
          const history: temporal.api.history.v1.IHistory = await execution.fetchHistory();
          const last = history.events?.at(-1);
          runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
        }
        expect(runTimeouts.length).toBeGreaterThanOrEqual(3);
        expect(new Set(runTimeouts)).toEqual(new Set([THIRTY_ONE_DAYS_S]));
      } finally {
        await worker.stop();
        await db.destroy();
        await sim.close();
      }
    });
  });
});
