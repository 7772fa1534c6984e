import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { endRun } from '../../db/queries/run-lifecycle.js';
import { OutboxEmailSender } from '../../email/sender.js';
import type { Simulator } from '../../simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { testDb } from '../helpers/db.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { newRunId, putIntegration, startTestSimulator, studentsOf, syncTestConfig } from '../sync/harness.js';

/**
 * The activities on their own (no workflow): what a retry of each one does. Real PostgreSQL and
 * the real simulator; Temporal's MockActivityEnvironment supplies the activity context.
 */
describe('sync activities under retry', () => {
  const config = syncTestConfig();
  let db: Db;
  let sim: Simulator;
  let activities: ReturnType<typeof createActivities>;
  const env = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
    env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    db = testDb();
    sim = await startTestSimulator({ students: 300, seed: 101, malformedShare: 0.1 });
    activities = createActivities({
      db,
      config,
      secretBox: new SecretBox(config.secretsKeys),
      emailSender: new OutboxEmailSender(db),
    });
  });
  afterAll(async () => {
    await sim?.close();
    await db?.destroy();
  });

  async function begin(schoolId: string, testRun = false) {
    const runId = newRunId(schoolId);
    const begun = await run(activities.beginRun, {
      runId,
      temporalRunId: 'run-1',
      schoolId,
      trigger: 'manual',
      testRun,
    });
    expect(begun).toMatchObject({ outcome: 'claimed', testRun });
    return runId;
  }

  it('beginRun is idempotent on the run id and records one row', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim);
    const runId = await begin(schoolId);
    const again = await run(activities.beginRun, {
      runId,
      temporalRunId: 'run-1',
      schoolId,
      trigger: 'manual',
      testRun: false,
    });
    expect(again).toMatchObject({ outcome: 'claimed' });
    expect(await db.selectFrom('runs').select('id').where('school_id', '=', schoolId).execute()).toHaveLength(1);
  });

  it('a retried page and a retried commit count and write everything once', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim, { mapping: { dateOfBirth: true } });
    const runId = await begin(schoolId);
    const plan = await run(activities.planRun, { runId });
    let page: number | null = 1;
    let afterDcid: string | null = null;
    let last;
    while (page !== null) {
      last = await run(activities.fetchPage, { runId, page, pageSize: plan.pageSize, afterDcid });
      // The same page again (a retry after a lost answer): nothing counts twice.
      const retried = await run(activities.fetchPage, { runId, page, pageSize: plan.pageSize, afterDcid });
      expect(retried).toEqual(last);
      page = last.nextPage;
      afterDcid = last.lastDcid;
    }
    expect(last!.recordsFetched).toBe(plan.recordsTotal);

    const counts = await run(activities.applyRun, { runId });
    const students = await studentsOf(db, schoolId);
    expect(counts.created).toBe(students.length);
    expect(counts.fetched).toBe(plan.recordsTotal);
    expect(counts.invalid).toBeGreaterThan(0);
    // A retry after the commit went through: same counts, no second write.
    expect(await run(activities.applyRun, { runId })).toEqual(counts);
    expect(await studentsOf(db, schoolId)).toEqual(students);
    const changes = await db.selectFrom('run_changes').select('dcid').where('run_id', '=', runId).execute();
    expect(changes).toHaveLength(counts.created);

    const finished = await run(activities.finishRun, { runId, status: 'succeeded' });
    expect(finished).toEqual({ status: 'succeeded', notify: false });
    // A later failure cannot take back a commit that landed: the run stays succeeded, with its counts.
    expect(await run(activities.finishRun, { runId, status: 'failed' })).toEqual({
      status: 'succeeded',
      notify: false,
      succeededWith: counts,
    });
  });

  async function fetchAll(runId: string) {
    const plan = await run(activities.planRun, { runId });
    let page: number | null = 1;
    let afterDcid: string | null = null;
    while (page !== null) {
      const last: Awaited<ReturnType<typeof activities.fetchPage>> = await run(activities.fetchPage, {
        runId,
        page,
        pageSize: plan.pageSize,
        afterDcid,
      });
      page = last.nextPage;
      afterDcid = last.lastDcid;
    }
    return { plan, afterDcid };
  }

  it('a page that arrives after the run recorded its diff is refused and counts nothing', async () => {
    const own = await startTestSimulator({ students: 60, seed: 102 });
    try {
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config, schoolId, own);
      const runId = await begin(schoolId);
      const lastDcid = own.students.inScope(9, 12).at(-1)!.dcid;
      const { plan } = await fetchAll(runId);
      const counts = await run(activities.applyRun, { runId });
      const before = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();

      // A stale attempt reading on after the commit: a new student past the last page.
      own.students.add({ grade_level: 10, enroll_status: 0 });
      const err = await run(activities.fetchPage, {
        runId,
        page: plan.pagesTotal + 1,
        pageSize: plan.pageSize,
        afterDcid: String(lastDcid),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: 'RUN_ENDED', nonRetryable: true });

      const after = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
      expect(after).toEqual(before);
      const staged = await db.selectFrom('staged_students').select('dcid').where('run_id', '=', runId).execute();
      expect(staged).toHaveLength(counts.created);
    } finally {
      await own.close();
    }
  });

  it('a commit of a run that already ended writes nothing and keeps the run as it ended', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim);
    const runId = await begin(schoolId);
    await fetchAll(runId);
    // Ended by hand without clearing staging: the staged rows a late commit would write are still there.
    await endRun(db, runId, 'cancelled', { code: 'CANCELLED', message: 'the run was cancelled' }, 'disabled');
    const before = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();

    const err = await run(activities.applyRun, { runId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'RUN_ENDED', nonRetryable: true });
    expect(await studentsOf(db, schoolId)).toEqual([]);
    expect(await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow()).toEqual(before);
  });

  it('fails fast and typed: wrong credentials are non-retryable POWERSCHOOL_AUTH_FAILED', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim, { clientSecret: 'wrong' });
    const runId = await begin(schoolId);
    const err = await run(activities.planRun, { runId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'POWERSCHOOL_AUTH_FAILED', nonRetryable: true });
  });

  it('a secret that no configured key opens fails the run as INVALID_SETTINGS', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim);
    // Sealed for another school: the associated data does not match.
    const other = new SecretBox(config.secretsKeys).seal('x', 'another-school');
    await db
      .updateTable('integrations')
      .set({ client_secret_encrypted: other.ciphertext })
      .where('school_id', '=', schoolId)
      .execute();
    const err = await run(activities.beginRun, {
      runId: newRunId(schoolId),
      temporalRunId: 'r',
      schoolId,
      trigger: 'manual',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'INVALID_SETTINGS', nonRetryable: true });
    expect(String((err as Error).message)).not.toContain(sim.clientSecret);
  });

  it('a scheduled run of a paused integration is recorded as skipped', async () => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim, { active: false });
    const runId = newRunId(schoolId);
    const begun = await run(activities.beginRun, { runId, temporalRunId: 'r', schoolId, trigger: 'schedule' });
    expect(begun).toEqual({ outcome: 'skipped', code: 'INTEGRATION_INACTIVE', runningRunId: null });
    expect(await db.selectFrom('runs').select('status').where('id', '=', runId).executeTakeFirst()).toEqual({
      status: 'skipped',
    });
  });
});
