import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { OutboxEmailSender } from '../../email/sender.js';
import type { Simulator } from '../../powerschool/simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { testDb, uniqueSchoolId } from '../helpers/env.js';
import { newRunId, putIntegration, startTestSimulator, studentsOf, syncTestConfig } from './harness.js';

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
    expect(await run(activities.finishRun, { runId, status: 'failed' })).toEqual({
      status: 'succeeded',
      notify: false,
    });
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
