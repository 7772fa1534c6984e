import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../../db/connection.js';
import type { SimulatedStudent } from '../../simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { startResendFake, type ResendFake } from '../fakes/resend-server.js';
import { testDb } from '../helpers/db.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import {
  comparable,
  expectedStudent,
  putIntegration,
  runRow,
  runSync,
  startSync,
  startSyncWorker,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

/** Bad records, a flaky PowerSchool, wrong credentials, email retries. */
describe('sync pipeline: bad data, faults and notifications', () => {
  let resend: ResendFake;
  let db: Db;
  let client: Client;
  let worker: Awaited<ReturnType<typeof startSyncWorker>>;
  const recipients = ['counselor@school.test'];

  beforeAll(async () => {
    resend = await startResendFake();
    const config = syncTestConfig({ RESEND_API_KEY: resend.apiKey, RESEND_BASE_URL: resend.url });
    db = testDb();
    client = await testClient();
    worker = await startSyncWorker(client, config, db);
  });
  afterAll(async () => {
    await worker?.stop();
    await resend?.close();
    await db?.destroy();
    await client?.connection.close();
  });
  const config = () => syncTestConfig({ RESEND_API_KEY: resend.apiKey, RESEND_BASE_URL: resend.url });

  it('5. 10% malformed records: each is an issue with its reason; every good record commits', async () => {
    const sim = await startTestSimulator({ students: 400, seed: 51, malformedShare: 0.1 });
    try {
      const schoolId = uniqueSchoolId();
      const mapping = { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: true };
      await putIntegration(db, config(), schoolId, sim, { mapping });
      const result = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });

      const inScope = sim.students.inScope(9, 12);
      const expectedIssues = inScope.flatMap(issueOf).sort(byDcidField);
      const skipped = new Set(expectedIssues.filter((i) => i.skipped).map((i) => i.dcid));
      expect(expectedIssues.length).toBeGreaterThan(3);
      expect(skipped.size).toBeGreaterThan(1);
      expect(expectedIssues.some((i) => !i.skipped)).toBe(true);

      const issues = await db
        .selectFrom('run_issues')
        .select(['dcid', 'powerschool_id', 'field', 'code', 'skipped', 'message'])
        .where('run_id', '=', result.workflowId)
        .execute();
      expect(issues.map(({ message: _m, ...i }) => i).sort(byDcidField)).toEqual(
        expectedIssues.map((i) => ({ ...i, powerschool_id: i.dcid })),
      );
      for (const issue of issues) expect(issue.message.length).toBeGreaterThan(5);

      expect(result.counts).toEqual({
        fetched: inScope.length,
        created: inScope.length - skipped.size,
        updated: 0,
        unchanged: 0,
        invalid: skipped.size,
        missing: 0,
        departed: 0,
        linked: 0,
        needsReview: 0,
      });
      const good = inScope
        .filter((s) => !skipped.has(String(s.dcid)))
        .map((s) => {
          const e = expectedStudent(s, mapping);
          // An impossible date of birth is dropped; the student is synced without it.
          return expectedIssues.some((i) => i.dcid === e.dcid && i.field === 'dob') ? { ...e, date_of_birth: null } : e;
        });
      expect(comparable(await studentsOf(db, schoolId))).toEqual(good);
    } finally {
      await sim.close();
    }
  });

  it('6a. with 20% 5xx, some 429s and dropped connections the run succeeds with exact results', async () => {
    const sim = await startTestSimulator({ students: 1000, seed: 61, maxPageSize: 10 });
    try {
      const schoolId = uniqueSchoolId();
      const mapping = { powerschoolId: 'STUDENT_NUMBER' as const, dateOfBirth: true, gender: false };
      await putIntegration(db, config(), schoolId, sim, { mapping });
      sim.setFaults({ errorRate: 0.2, rateLimitRate: 0.1, retryAfterSeconds: 1, dropRate: 0.03 });
      const result = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      const stats = sim.stats();
      expect(stats.faults.errors).toBeGreaterThanOrEqual(3);
      expect(stats.faults.rateLimited).toBeGreaterThanOrEqual(1);

      const inScope = sim.students.inScope(9, 12);
      expect(result.counts).toEqual({
        fetched: inScope.length,
        created: inScope.length,
        updated: 0,
        unchanged: 0,
        invalid: 0,
        missing: 0,
        departed: 0,
        linked: 0,
        needsReview: 0,
      });
      expect(comparable(await studentsOf(db, schoolId))).toEqual(inScope.map((s) => expectedStudent(s, mapping)));
      const run = await runRow(db, result.workflowId);
      expect(run).toMatchObject({
        status: 'succeeded',
        records_fetched: inScope.length,
        records_total: inScope.length,
      });
    } finally {
      await sim.close();
    }
  });

  it('6b. wrong credentials fail the run within seconds with POWERSCHOOL_AUTH_FAILED and one failure email', async () => {
    const sim = await startTestSimulator({ students: 50, seed: 62 });
    try {
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config(), schoolId, sim, {
        clientSecret: 'not-the-secret',
        notifications: { enabled: true, recipients },
      });
      const started = Date.now();
      const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      const failure = await handle.result().then(
        () => null,
        (err: unknown) => err,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('POWERSCHOOL_AUTH_FAILED');
      expect((await handle.describe()).status.name).toBe('FAILED');

      const run = await runRow(db, handle.workflowId);
      expect(run).toMatchObject({
        status: 'failed',
        error_code: 'POWERSCHOOL_AUTH_FAILED',
        notification_status: 'sent',
      });
      expect(run.finished_at).not.toBeNull();
      const emails = resend.deliveries.filter((d) => d.idempotencyKey === handle.workflowId);
      expect(emails).toHaveLength(1);
      expect(run.notification_message_id).toBe(emails[0]!.id);
      expect(emails[0]!.to).toEqual(recipients);
      expect(emails[0]!.subject).toContain('FAILED');
      expect(emails[0]!.text).toContain('POWERSCHOOL_AUTH_FAILED');
      expect(emails[0]!.text).toContain('Client Secret'); // what the school must fix
      expect(emails[0]!.text).toContain(`/workflows/${handle.workflowId}`);
      expect(emails[0]!.text).not.toContain('not-the-secret');
      expect(await studentsOf(db, schoolId)).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  it('6c. a stored secret that cannot be opened fails the run at once as INVALID_SETTINGS, and says so by email', async () => {
    const sim = await startTestSimulator({ students: 20, seed: 63 });
    try {
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config(), schoolId, sim, { notifications: { enabled: true, recipients } });
      const foreign = new SecretBox(config().secretsKeys).seal(sim.clientSecret, 'another-school');
      await db
        .updateTable('integrations')
        .set({ client_secret_encrypted: foreign.ciphertext })
        .where('school_id', '=', schoolId)
        .execute();
      const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'schedule' });
      const failure = await handle.result().catch((e: unknown) => e);
      expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'INVALID_SETTINGS' });
      expect(await runRow(db, handle.workflowId)).toMatchObject({
        status: 'failed',
        error_code: 'INVALID_SETTINGS',
        notification_status: 'sent',
      });
      const emails = resend.deliveries.filter((d) => d.idempotencyKey === handle.workflowId);
      expect(emails).toHaveLength(1);
      expect(emails[0]!.text).toContain('INVALID_SETTINGS');
      // The school's slot is free again: the next run is not skipped.
      await putIntegration(db, config(), schoolId, sim);
      expect(await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' })).toMatchObject({
        status: 'succeeded',
      });
    } finally {
      await sim.close();
    }
  });

  it('9. a retried notify sends one email, not two', async () => {
    const sim = await startTestSimulator({ students: 60, seed: 91 });
    try {
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config(), schoolId, sim, {
        testRun: true,
        notifications: { enabled: true, recipients },
      });
      // Resend accepts the email but the answer is lost (500): the activity retries with the same key.
      resend.failNext(1, { when: 'after', status: 500 });
      const result = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(result).toMatchObject({ status: 'succeeded', notification: 'sent', testRun: true });

      const calls = resend.requests.filter((r) => r.idempotencyKey === result.workflowId);
      expect(calls.map((c) => c.status)).toEqual([500, 200]);
      const emails = resend.deliveries.filter((d) => d.idempotencyKey === result.workflowId);
      expect(emails).toHaveLength(1);
      expect(emails[0]!.subject).toContain('test run');
      expect(emails[0]!.text).toContain(`Would be created: ${sim.students.inScope(9, 12).length}`);
      const run = await runRow(db, result.workflowId);
      expect(run).toMatchObject({ notification_status: 'sent', notification_message_id: emails[0]!.id });

      // The history shows the retry: notify ran twice.
      const history = await client.workflow.getHandle(result.workflowId).fetchHistory();
      const notifyStarted = history.events?.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notify',
      );
      const attempts = history.events?.find(
        (e) =>
          e.activityTaskStartedEventAttributes &&
          String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(notifyStarted?.eventId),
      )?.activityTaskStartedEventAttributes?.attempt;
      expect(attempts).toBe(2);
    } finally {
      await sim.close();
    }
  });
});

interface ExpectedIssue {
  dcid: string;
  field: string;
  code: string;
  skipped: boolean;
}

/** The simulator breaks one field per malformed record, in one of six ways (see its students.ts). */
function issueOf(s: SimulatedStudent): ExpectedIssue[] {
  const dcid = String(s.dcid);
  if (s.dob !== null && !/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(s.dob))
    return [{ dcid, field: 'dob', code: 'INVALID_DATE', skipped: false }];
  if (s.dob !== null && s.dob.endsWith('-02-30')) return [{ dcid, field: 'dob', code: 'INVALID_DATE', skipped: false }];
  if (s.sched_yearofgraduation === 0)
    return [{ dcid, field: 'sched_yearofgraduation', code: 'INVALID_YEAR', skipped: true }];
  if (s.first_name.trim() === '') return [{ dcid, field: 'first_name', code: 'MISSING', skipped: true }];
  if (s.last_name.trim() === '') return [{ dcid, field: 'last_name', code: 'MISSING', skipped: true }];
  if ([...s.last_name].length > 50) return [{ dcid, field: 'last_name', code: 'TOO_LONG', skipped: true }];
  return [];
}

function byDcidField(a: { dcid: string; field: string }, b: { dcid: string; field: string }): number {
  return Number(a.dcid) - Number(b.dcid) || a.field.localeCompare(b.field);
}
