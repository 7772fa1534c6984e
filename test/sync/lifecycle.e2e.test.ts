import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { runJson } from '../../api/serialize.js';
import type { Db } from '../../db/connection.js';
import { claimRunSlot } from '../../db/queries/runs.js';
import type { Simulator } from '../../simulator/index.js';
import { PROGRESS_QUERY, type SyncProgress } from '../../workflows/types.js';
import { testDb } from '../helpers/db.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import { waitForPages } from '../helpers/runs.js';
import {
  newRunId,
  putIntegration,
  runRow,
  runSync,
  startSync,
  startSyncWorker,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

/** The run's life around the happy path: the run slot, the API's pre-claimed runs, cancellation, continue-as-new, the outbox. */
describe('sync pipeline: run lifecycle', () => {
  const config = syncTestConfig();
  let db: Db;
  let client: Client;
  let worker: Awaited<ReturnType<typeof startSyncWorker>>;
  let sim: Simulator;
  let slowSim: Simulator;

  beforeAll(async () => {
    db = testDb();
    client = await testClient();
    sim = await startTestSimulator({ students: 300, seed: 71 });
    // Slow enough that a run is still going while the test acts on it.
    slowSim = await startTestSimulator({ students: 300, seed: 72, maxPageSize: 10, faults: { latencyMs: 250 } });
    worker = await startSyncWorker(client, config, db, { abandonedRunGraceMs: 1_000 });
  });
  afterAll(async () => {
    await worker?.stop();
    await sim?.close();
    await slowSim?.close();
    await db?.destroy();
    await client?.connection.close();
  });

  it('a second run of a school while one is running ends skipped; progress is queryable meanwhile', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, slowSim);
    // One page per activity, so the workflow's own progress moves page by page.
    const first = await startSync(client, worker.taskQueue, {
      schoolId,
      trigger: 'schedule',
      options: { pagesPerActivity: 1 },
    });
    await waitForPages(db, first.workflowId, 2);

    // The query answers as of the last finished fetchPage activity (one reads several pages).
    const progress = await vi.waitFor(
      async () => {
        const p = await first.query<SyncProgress & { phase: string }>(PROGRESS_QUERY);
        expect(p.pagesFetched).toBeGreaterThanOrEqual(2);
        return p;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(progress.phase).toBe('fetching');
    expect(progress.pagesFetched).toBeGreaterThanOrEqual(2);
    expect(progress.pagesTotal).toBe(Math.ceil(slowSim.students.inScope(9, 12).length / 10));
    expect(progress.recordsTotal).toBe(slowSim.students.inScope(9, 12).length);
    expect(progress.recordsFetched).toBeGreaterThanOrEqual(20);

    const second = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(second).toMatchObject({
      status: 'skipped',
      skipped: { code: 'RUN_IN_PROGRESS', runningRunId: first.workflowId },
    });
    expect(await runRow(db, second.workflowId)).toMatchObject({ status: 'skipped', error_code: 'RUN_IN_PROGRESS' });

    expect(await first.result()).toMatchObject({ status: 'succeeded' });
    const description = await first.describe();
    expect(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['SchoolId', schoolId],
        ['SyncTrigger', 'schedule'],
        ['TestRun', false],
      ]),
    );
  });

  it('proceeds with a run the API already claimed (row first, then the workflow), keeping one row', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim, { testRun: false });
    const runId = newRunId(schoolId);
    const claim = await claimRunSlot(db, { id: runId, schoolId, trigger: 'manual', testRun: true });
    expect(claim.claimed).toBe(true);
    const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual', testRun: true }, runId);
    expect(await handle.result()).toMatchObject({ status: 'succeeded', testRun: true });
    const rows = await db.selectFrom('runs').selectAll().where('school_id', '=', schoolId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: runId,
      status: 'succeeded',
      test_run: true,
      temporal_run_id: handle.firstExecutionRunId,
    });
    expect(await studentsOf(db, schoolId)).toEqual([]);
  });

  it('releases a run slot whose workflow is gone (terminated, or never started) so the school is never stuck', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, slowSim);
    const doomed = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    await waitForPages(db, doomed.workflowId, 1);
    await doomed.terminate('operator terminated it');

    const next = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(next.status).toBe('succeeded');
    expect(await runRow(db, doomed.workflowId)).toMatchObject({ status: 'cancelled', error_code: 'RUN_ABANDONED' });

    // A slot held by a row whose workflow was never started (older than the grace period).
    const ghost = newRunId(schoolId);
    await db
      .insertInto('runs')
      .values({ id: ghost, school_id: schoolId, trigger: 'manual', test_run: true, status: 'running' })
      .execute();
    await sql`update runs set started_at = now() - interval '1 minute' where id = ${ghost}`.execute(db);
    const after = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(after.status).toBe('succeeded');
    expect(await runRow(db, ghost)).toMatchObject({ status: 'failed', error_code: 'RUN_ABANDONED' });
  });

  it('a cancelled run ends cancelled, in the row and in Temporal', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, slowSim, {
      notifications: { enabled: true, recipients: ['ops@school.test'] },
    });
    const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    await waitForPages(db, handle.workflowId, 1);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const run = await runRow(db, handle.workflowId);
    expect(run).toMatchObject({ status: 'cancelled', error_code: 'CANCELLED', notification_status: 'sent' });
    const staged = await db.selectFrom('staged_students').select('dcid').where('run_id', '=', run.id).execute();
    expect(staged).toEqual([]);
    expect(await studentsOf(db, schoolId)).toEqual([]);
  });

  it('continues as new to keep history small, the run still commits exactly, and its links point at the latest execution', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim);
    const n = sim.students.inScope(9, 12).length;
    expect(Math.ceil(n / 20)).toBeGreaterThanOrEqual(3);
    const handle = await startSync(client, worker.taskQueue, {
      schoolId,
      trigger: 'manual',
      options: { pagesPerExecution: 1 },
    });
    expect(await handle.result()).toMatchObject({ status: 'succeeded', counts: { created: n, fetched: n } });
    const executions = [];
    for await (const e of client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) executions.push(e);
    expect(executions.length).toBeGreaterThanOrEqual(3);
    expect(executions.filter((e) => e.status.name === 'CONTINUED_AS_NEW').length).toBe(executions.length - 1);
    expect(await studentsOf(db, schoolId)).toHaveLength(n);
    const row = await runRow(db, handle.workflowId);
    expect(row).toMatchObject({ status: 'succeeded', count_created: n, records_fetched: n });

    // temporal.runId / uiUrl name the execution that holds the run's outcome, not the first one.
    const latest = await client.workflow.getHandle(handle.workflowId).describe();
    expect(latest.status.name).toBe('COMPLETED');
    expect(latest.runId).not.toBe(handle.firstExecutionRunId);
    expect(row.temporal_run_id).toBe(latest.runId);
    expect(runJson(config, row).temporal).toEqual({
      workflowId: handle.workflowId,
      runId: latest.runId,
      uiUrl: `${config.temporal.uiUrl}/namespaces/default/workflows/${handle.workflowId}/${latest.runId}`,
    });
  });

  it('reads by DCID cursor: students leaving scope behind the read position do not make it miss anyone', async () => {
    const own = await startTestSimulator({ students: 400, seed: 73, maxPageSize: 10, faults: { latencyMs: 150 } });
    try {
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config, schoolId, own);
      const before = own.students.inScope(9, 12);
      const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      await waitForPages(db, handle.workflowId, 3);
      // Three students already read withdraw, and one is added behind the cursor: with page
      // numbers every later row would shift and the rows at the next page boundary be skipped.
      const withdrawn = before.slice(0, 3);
      for (const s of withdrawn) own.students.update(s.dcid, { enroll_status: 2 });
      const result = await handle.result();
      expect(result.status).toBe('succeeded');
      const stored = new Set((await studentsOf(db, schoolId)).map((r) => r.dcid));
      const lost = before.filter((s) => !stored.has(String(s.dcid)));
      expect(lost).toEqual([]);
      expect(result.counts).toMatchObject({ fetched: before.length, created: before.length });
    } finally {
      await own.close();
    }
  });

  it('without RESEND_API_KEY the email goes to the outbox, once', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim, {
      notifications: { enabled: true, recipients: ['a@school.test'] },
    });
    const result = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(result.notification).toBe('sent');
    const outbox = await db.selectFrom('email_outbox').selectAll().where('run_id', '=', result.workflowId).execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ school_id: schoolId, to: ['a@school.test'] });
    expect(outbox[0]!.subject).toContain(schoolId);
    expect(outbox[0]!.text).toContain(`Created: ${sim.students.inScope(9, 12).length}`);
    expect(outbox[0]!.html).toContain(`/namespaces/default/workflows/${result.workflowId}`);
    expect(await runRow(db, result.workflowId)).toMatchObject({
      notification_status: 'sent',
      notification_message_id: `outbox-${outbox[0]!.id}`,
    });
  });
});
