import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { PROGRESS_QUERY, scheduleIdFor } from '../../workflows/types.js';
import { freshDatabase } from '../helpers/db.js';
import { testClient, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import type { NodeChild } from '../helpers/process.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { putIntegration, runRow, startSync, syncTestConfig } from '../sync/harness.js';
import {
  ALL_GRADES,
  expectExactStudents,
  inScopeOf,
  LogSink,
  markerStudent,
  report,
  scanRunsForPersonalData,
  SOAK,
} from './support.js';

/**
 * the worker (`npm run worker` as a child process) SIGKILLed at three points of one run —
 * early in the fetch, in the middle of it, and inside the apply transaction — and restarted each
 * time. The run completes and the students table equals PowerSchool's in-scope set exactly.
 *
 * Default suite: ~3,000 students in scope. `npx tsx scripts/soak.ts` runs it with 20,000+.
 */
const SEEDED = Number(process.env.RELIABILITY_STUDENTS ?? (SOAK ? 23_800 : 3_500));
const PAGE_SIZE = SOAK ? 100 : 50;

describe('reliability: the worker SIGKILLed three times in one run', () => {
  const children: NodeChild[] = [];
  const logs = new LogSink();
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let client: Client;
  let sim: Simulator;
  let schoolId: string;
  const workflowIds: string[] = [];

  beforeAll(async () => {
    database = await freshDatabase('kill');
    client = await testClient();
    sim = await startSimulator({
      students: SEEDED,
      seed: 808,
      maxPageSize: PAGE_SIZE,
      // A little latency per page: time enough to kill the worker where we mean to.
      faults: { latencyMs: SOAK ? 5 : 20 },
    });
    sim.students.add({ ...markerStudent('Kill'), grade_level: 10, enroll_status: 0 });
  }, 180_000);
  afterAll(async () => {
    for (const child of children) await child.kill();
    if (schoolId)
      await client?.schedule
        .getHandle(scheduleIdFor(schoolId))
        .delete()
        .catch(() => {});
    await sim?.close();
    await client?.connection.close();
    await database?.drop();
  });

  const worker = async (taskQueue: string) => {
    const child = await startWorkerProcess({ databaseUrl: database.url, taskQueue, logs });
    children.push(child);
    return child;
  };

  it('kill early in the fetch, mid-fetch and inside the apply: the run completes, nobody lost or duplicated', async () => {
    const started = Date.now();
    const db = database.db;
    const config = syncTestConfig({ DATABASE_URL: database.url });
    schoolId = uniqueSchoolId('kill');
    const taskQueue = uniqueTaskQueue('kill');
    const mapping = { powerschoolId: 'STUDENT_NUMBER' as const, dateOfBirth: true, gender: true };
    await putIntegration(db, config, schoolId, sim, { grades: ALL_GRADES, mapping });
    const inScope = inScopeOf(sim);
    const pagesTotal = Math.ceil(inScope.length / PAGE_SIZE);
    expect(pagesTotal).toBeGreaterThanOrEqual(20);

    let current = await worker(taskQueue);
    const handle = await startSync(client, taskQueue, { schoolId, trigger: 'manual' });
    workflowIds.push(handle.workflowId);
    const pagesFetched = async () =>
      (await db.selectFrom('runs').select('pages_fetched').where('id', '=', handle.workflowId).executeTakeFirst())
        ?.pages_fetched ?? 0;

    // 1. Early in the fetch.
    await vi.waitFor(async () => expect(await pagesFetched()).toBeGreaterThanOrEqual(2), {
      timeout: 120_000,
      interval: 50,
    });
    await current.kill();
    const atKill1 = await runRow(db, handle.workflowId);
    expect(atKill1.status).toBe('running');
    expect(atKill1.pages_fetched).toBeLessThan(pagesTotal / 2);
    current = await worker(taskQueue);

    // 2. Mid-fetch.
    const half = Math.ceil(pagesTotal / 2);
    await vi.waitFor(async () => expect(await pagesFetched()).toBeGreaterThanOrEqual(half), {
      timeout: 180_000,
      interval: 50,
    });
    await current.kill();
    const atKill2 = await runRow(db, handle.workflowId);
    expect(atKill2.pages_fetched).toBeLessThan(pagesTotal);
    current = await worker(taskQueue);

    // 3. Inside the apply transaction: we hold a SHARE lock on students (this database is ours),
    // so the commit blocks on its first write; once PostgreSQL shows the worker waiting on that
    // lock, the worker is killed in the middle of its transaction.
    const locker = new pg.Client({ connectionString: database.url, application_name: 'reliability-locker' });
    await locker.connect();
    let applyBackend: number;
    try {
      await locker.query('begin');
      await locker.query('lock table students in share mode');
      applyBackend = await vi.waitFor(
        async () => {
          // pg_stat_activity is a snapshot per transaction, and the locker is inside one.
          await locker.query('select pg_stat_clear_snapshot()');
          const r = await locker.query<{ pid: number }>(
            `select pid from pg_stat_activity
              where datname = current_database() and application_name = 'powerschool-sync-worker'
                and wait_event_type = 'Lock'`,
          );
          expect(r.rows[0], 'the apply waiting on our lock').toBeDefined();
          return r.rows[0]!.pid;
        },
        { timeout: 180_000, interval: 50 },
      );
      const phase = await handle.query<{ phase: string }>(PROGRESS_QUERY);
      expect(phase.phase).toBe('applying');
      await current.kill();
      const atKill3 = await runRow(db, handle.workflowId);
      expect(atKill3.applied_at).toBeNull(); // nothing committed: the kill fell inside the transaction
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }
    current = await worker(taskQueue);

    const result = await handle.result();
    expect(result).toMatchObject({
      status: 'succeeded',
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
    });
    const exact = await expectExactStudents(db, schoolId, inScope, mapping);
    const run = await runRow(db, handle.workflowId);
    expect(run).toMatchObject({ status: 'succeeded', count_created: inScope.length, records_fetched: inScope.length });
    expect(run.applied_at).not.toBeNull();
    const changes = await db
      .selectFrom('run_changes')
      .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.count<string>('dcid').distinct().as('distinct')])
      .where('run_id', '=', handle.workflowId)
      .executeTakeFirstOrThrow();
    expect(Number(changes.n)).toBe(inScope.length);
    expect(Number(changes.distinct)).toBe(inScope.length);

    const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
    const retried = (history.events ?? []).filter(
      (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    ).length;
    // The apply was certainly in flight; a fetch kill may fall between two pages (then the
    // workflow task, not an activity, is what moves to the next worker).
    expect(retried).toBeGreaterThanOrEqual(1);

    report('worker SIGKILL ×3', {
      seeded: SEEDED + 1,
      inScope: inScope.length,
      pageSize: PAGE_SIZE,
      pagesTotal,
      kills: 3,
      killedAtPages: `${atKill1.pages_fetched}, ${atKill2.pages_fetched}, apply (backend ${applyBackend!} waiting)`,
      activitiesRetried: retried,
      simulatorRequests: sim.stats().requests,
      recordsChecked: exact.checked,
      lost: exact.lost,
      duplicates: exact.duplicates,
      changesRecorded: Number(changes.n),
      seconds: Math.round((Date.now() - started) / 1000),
    });
  }, 600_000);

  it('no personal data in the run history, its search attributes or the workers’ logs', async () => {
    const students = [...sim.students.list(), markerStudent('Kill')];
    const findings = await scanRunsForPersonalData(client, {
      workflowIds,
      logs,
      students,
      secrets: [sim.clientSecret],
    });
    expect(workflowIds).toHaveLength(1);
    expect(logs.lines()).toBeGreaterThan(10); // four worker processes
    expect(findings).toEqual([]);
    report('worker SIGKILL ×3: personal-data scan', {
      histories: workflowIds.length,
      logLines: logs.lines(),
      studentsSearchedFor: students.length,
      findings: findings.length,
    });
  });
});
