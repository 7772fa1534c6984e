// The safety hold end to end: real API, worker, Temporal, PostgreSQL, the simulator and the fake Resend.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { ResendEmailSender } from '../../email/sender.js';
import type { Simulator } from '../../simulator/index.js';
import { SyncStatusKey } from '../../workflows/search-attributes.js';
import { scheduleIdFor, type SyncStudentsResult } from '../../workflows/types.js';
import { startResendFake, type ResendFake } from '../fakes/resend-server.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { createNamespace, settings, startTestApi, type TestApi } from '../api/support.js';
import { findPersonalData, historyText } from '../reliability/support.js';
import { startSync, startSyncWorker, startTestSimulator, studentsOf, syncTestConfig } from './harness.js';

const GRADES = { from: -2, to: 12 };
const RECIPIENT = 'counselor@school.example';
const DAY_MS = 86_400_000;

let namespace: string;
let api: TestApi;
let resend: ResendFake;
let worker: Awaited<ReturnType<typeof startSyncWorker>>;
const sims: Simulator[] = [];

beforeAll(async () => {
  namespace = await createNamespace('hold');
  api = await startTestApi({ env: { TEMPORAL_NAMESPACE: namespace, ALLOW_INSECURE_POWERSCHOOL: 'true' } });
  resend = await startResendFake();
  worker = await startSyncWorker(api.client, syncTestConfig({ TEMPORAL_NAMESPACE: namespace }), api.db, {
    taskQueue: api.config.temporal.taskQueue,
    emailSender: new ResendEmailSender(resend.apiKey, resend.url),
  });
});
afterAll(async () => {
  await worker?.stop();
  for (const sim of sims) await sim.close();
  await resend?.close();
  await api?.close();
});

type Run = {
  finishedAt: string | null;
  id: string;
  status: string;
  counts: Record<string, number>;
  error: { code: string; message: string } | null;
  hold: {
    reasons: { code: string; count: number; base: number; percent: number; limit: number }[];
    heldAt: string;
    expiresAt: string;
  } | null;
};

interface School {
  id: string;
  sim: Simulator;
  body: Record<string, unknown>;
  /** Students stored after the first commit. */
  base: number;
}

/** A school whose first commit has landed (a first commit is never held). */
async function committedSchool(safety: Record<string, unknown> = {}, students = 150): Promise<School> {
  const sim = await startTestSimulator({ students, maxPageSize: 100 });
  sims.push(sim);
  const id = uniqueSchoolId('hold');
  const body = settings({
    powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
    grades: GRADES,
    active: true,
    testRun: false,
    notifications: { enabled: true, recipients: [RECIPIENT] },
    safety,
  });
  await put(id, body);
  const first = await startRun(id);
  await waitForStatus(id, first.id, ['succeeded']);
  const base = (await studentsOf(api.db, id)).length;
  expect(base).toBeGreaterThanOrEqual(100);
  return { id, sim, body, base };
}

async function put(id: string, body: Record<string, unknown>) {
  const res = await api.req({ method: 'PUT', url: `/v1/schools/${id}/integration`, payload: body });
  expect([200, 201], res.body).toContain(res.statusCode);
  return res.json();
}

async function startRun(id: string, payload?: Record<string, unknown>): Promise<Run> {
  const res = await api.req({ method: 'POST', url: `/v1/schools/${id}/runs`, payload: payload ?? {} });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

async function getRun(id: string, runId: string): Promise<Run> {
  const res = await api.req({ method: 'GET', url: `/v1/schools/${id}/runs/${runId}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function waitForStatus(id: string, runId: string, statuses: string[], timeout = 60_000): Promise<Run> {
  let run: Run | undefined;
  await vi.waitFor(
    async () => {
      run = await getRun(id, runId);
      expect(statuses, `run ${runId} is ${run.status}: ${JSON.stringify(run.error)}`).toContain(run.status);
    },
    { timeout, interval: 100 },
  );
  return run!;
}

const decide = (id: string, runId: string, decision: 'approve' | 'discard') =>
  api.req({ method: 'POST', url: `/v1/schools/${id}/runs/${runId}/${decision}` });

/** Renames the first `count` in-scope students through the simulator's control endpoint. */
async function renameInPowerSchool(sim: Simulator, count: number, tag: string): Promise<void> {
  const inScope = sim.students.inScope(GRADES.from, GRADES.to);
  expect(inScope.length).toBeGreaterThanOrEqual(count);
  for (const s of inScope.slice(0, count)) {
    const res = await fetch(`${sim.url}/_simulator/students/${s.dcid}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ last_name: `${s.last_name.trim()}-${tag}` }),
    });
    expect(res.status).toBe(200);
  }
}

async function allChanges(id: string, runId: string) {
  const changes: { powerschoolId: string; type: string; before: unknown; after: Record<string, unknown> }[] = [];
  let cursor: string | null = null;
  do {
    const res = await api.req({
      method: 'GET',
      url: `/v1/schools/${id}/runs/${runId}/changes?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    });
    expect(res.statusCode).toBe(200);
    changes.push(...res.json().changes);
    cursor = res.json().nextCursor;
  } while (cursor);
  return changes;
}

async function heldRunIds(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await api.req({
      method: 'GET',
      url: `/v1/runs?status=held&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    ids.push(...res.json().runs.map((r: Run) => r.id));
    cursor = res.json().nextCursor;
  } while (cursor);
  return ids;
}

/** Commits after renaming 80% of the school: held for TOO_MANY_UPDATES. */
async function heldCommit(school: School, tag: string): Promise<{ run: Run; renamed: number }> {
  const renamed = Math.ceil(school.base * 0.8);
  await renameInPowerSchool(school.sim, renamed, tag);
  const started = await startRun(school.id);
  const run = await waitForStatus(school.id, started.id, ['held']);
  return { run, renamed };
}

const deliveriesOf = (runId: string) => resend.deliveries.filter((d) => d.idempotencyKey?.startsWith(runId));
/** A decided hold sends two emails for its run: the hold's, then the run's end. */
const heldAndEndEmailsSent = (runId: string) =>
  vi.waitFor(() =>
    expect(
      deliveriesOf(runId)
        .map((d) => d.idempotencyKey)
        .sort(),
    ).toEqual([runId, `${runId}-held`]),
  );

describe('a commit over the update threshold is held', () => {
  it('80% updates → held TOO_MANY_UPDATES, nothing written; approve → exactly the shown changes, succeeded', async () => {
    const school = await committedSchool();
    const before = await studentsOf(api.db, school.id);
    const { run, renamed } = await heldCommit(school, 'upd');

    expect(run.hold).toEqual({
      reasons: [
        {
          code: 'TOO_MANY_UPDATES',
          count: renamed,
          base: school.base,
          percent: Math.round((renamed * 1000) / school.base) / 10,
          limit: 75,
        },
      ],
      heldAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    expect(Date.parse(run.hold!.expiresAt) - Date.parse(run.hold!.heldAt)).toBe(7 * DAY_MS);
    expect(run.counts).toMatchObject({ updated: renamed, created: 0 });
    expect(await studentsOf(api.db, school.id), 'nothing written while held').toEqual(before);
    const changes = await allChanges(school.id, run.id);
    expect(changes).toHaveLength(renamed);
    expect(new Set(changes.map((c) => c.type))).toEqual(new Set(['update']));

    // The slot stays taken; the run is listed; one hold email, with no link of ours.
    const second = await api.req({ method: 'POST', url: `/v1/schools/${school.id}/runs`, payload: {} });
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toMatchObject({
      code: 'RUN_IN_PROGRESS',
      details: [{ runId: run.id, status: 'held' }],
    });
    expect(await heldRunIds()).toContain(run.id);
    await vi.waitFor(() => expect(deliveriesOf(run.id).map((d) => d.idempotencyKey)).toEqual([`${run.id}-held`]));
    const holdEmail = deliveriesOf(run.id)[0]!;
    expect(holdEmail.to).toEqual([RECIPIENT]);
    expect(holdEmail.text).toContain(`TOO_MANY_UPDATES: ${renamed} of ${school.base} active students`);
    expect(holdEmail.text).toMatch(/approve.*or discard.*in Cialfo/s);
    expect(holdEmail.text).not.toMatch(/https?:\/\//);

    const approved = await decide(school.id, run.id, 'approve');
    expect(approved.statusCode, approved.body).toBe(202);
    expect(approved.json()).toMatchObject({ id: run.id, status: 'running', hold: run.hold });
    const done = await waitForStatus(school.id, run.id, ['succeeded']);
    expect(done.counts).toEqual(run.counts);
    expect(await heldRunIds()).not.toContain(run.id);

    const after = await studentsOf(api.db, school.id);
    const changedBy = new Map(changes.map((c) => [String(c.after.dcid), c.after]));
    expect(after.map((s) => s.dcid)).toEqual(before.map((s) => s.dcid));
    for (const [i, row] of after.entries()) {
      const change = changedBy.get(row.dcid);
      if (!change) expect(row, 'a student without a change is untouched').toEqual(before[i]);
      else
        expect({ lastName: row.last_name, firstName: row.first_name, lastSeenRunId: row.last_seen_run_id }).toEqual({
          lastName: change.lastName,
          firstName: change.firstName,
          lastSeenRunId: run.id,
        });
    }
    await heldAndEndEmailsSent(run.id);
  });

  it('discard → discarded, nothing written, the slot is free again, an email says so', async () => {
    const school = await committedSchool();
    const before = await studentsOf(api.db, school.id);
    const { run } = await heldCommit(school, 'dis');

    const discarded = await decide(school.id, run.id, 'discard');
    expect(discarded.statusCode, discarded.body).toBe(200);
    expect(discarded.json()).toMatchObject({ id: run.id, status: 'discarded', error: null, hold: run.hold });
    const result = (await api.client.workflow.getHandle(run.id).result()) as SyncStudentsResult;
    expect(result.status).toBe('discarded');
    expect(await studentsOf(api.db, school.id)).toEqual(before);
    expect((await getRun(school.id, run.id)).finishedAt).not.toBeNull();

    await heldAndEndEmailsSent(run.id);
    expect(deliveriesOf(run.id).find((d) => d.idempotencyKey === run.id)!.text).toContain('Nothing was written');

    const next = await startRun(school.id);
    await api.client.workflow.getHandle(next.id).terminate('test over');
  });
});

/** Graduates `count` in-scope students in PowerSchool (ENROLL_STATUS 3, moved to the graduates' school). */
function graduateInPowerSchool(sim: Simulator, count: number): string[] {
  const leaving = sim.students.inScope(GRADES.from, GRADES.to).slice(0, count);
  for (const s of leaving) sim.students.leave(s.dcid, 'graduated');
  return leaving.map((s) => String(s.dcid));
}

describe('a commit over the departure threshold is held', () => {
  it('15% departures → held TOO_MANY_DEPARTURES, nothing written; approve → exactly those departures', async () => {
    const school = await committedSchool();
    const before = await studentsOf(api.db, school.id);
    const leaving = graduateInPowerSchool(school.sim, Math.ceil(school.base * 0.15));

    const started = await startRun(school.id);
    const run = await waitForStatus(school.id, started.id, ['held']);
    expect(run.hold!.reasons).toEqual([
      {
        code: 'TOO_MANY_DEPARTURES',
        count: leaving.length,
        base: school.base,
        percent: Math.round((leaving.length * 1000) / school.base) / 10,
        limit: 10,
      },
    ]);
    expect(run.counts).toMatchObject({ departed: leaving.length, updated: 0, created: 0 });
    expect(await studentsOf(api.db, school.id), 'nothing written while held').toEqual(before);
    const changes = await allChanges(school.id, run.id);
    expect(changes.map((c) => String(c.after.dcid)).sort()).toEqual([...leaving].sort());
    for (const c of changes)
      expect(c).toMatchObject({ type: 'depart', after: { status: 'departed', departureReason: 'graduated' } });

    const approved = await decide(school.id, run.id, 'approve');
    expect(approved.statusCode, approved.body).toBe(202);
    await waitForStatus(school.id, run.id, ['succeeded']);
    const after = await studentsOf(api.db, school.id);
    const left = new Set(leaving);
    for (const row of after) {
      expect(row.status).toBe(left.has(row.dcid!) ? 'departed' : 'active');
      expect(row.departure_reason).toBe(left.has(row.dcid!) ? 'graduated' : null);
    }
  });

  it('15% departures, discarded: nobody is marked departed', async () => {
    const school = await committedSchool();
    const before = await studentsOf(api.db, school.id);
    graduateInPowerSchool(school.sim, Math.ceil(school.base * 0.15));
    const started = await startRun(school.id);
    const run = await waitForStatus(school.id, started.id, ['held']);
    expect(run.hold!.reasons.map((r) => r.code)).toEqual(['TOO_MANY_DEPARTURES']);
    const discarded = await decide(school.id, run.id, 'discard');
    expect(discarded.statusCode, discarded.body).toBe(200);
    expect(await studentsOf(api.db, school.id)).toEqual(before);
  });
});

describe("a held run keeps the school's run slot", () => {
  it('a scheduled fire meanwhile starts no sync: its run ends skipped, RUN_IN_PROGRESS naming the held run', async () => {
    const school = await committedSchool();
    const { run } = await heldCommit(school, 'sched');
    await api.client.schedule.getHandle(scheduleIdFor(school.id)).trigger();
    let skipped: Run | undefined;
    await vi.waitFor(
      async () => {
        const runs = (await api.req({ method: 'GET', url: `/v1/schools/${school.id}/runs` })).json().runs as Run[];
        skipped = runs.find((r) => r.id !== run.id && r.status === 'skipped');
        expect(skipped).toBeDefined();
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(skipped!.error).toMatchObject({ code: 'RUN_IN_PROGRESS', message: expect.stringContaining(run.id) });
    expect((await getRun(school.id, run.id)).status).toBe('held');
    expect((await decide(school.id, run.id, 'discard')).statusCode).toBe(200);
  });
});

describe('never held', () => {
  it('a test run, or safety.enabled false, with 80% updates', async () => {
    const school = await committedSchool();
    await renameInPowerSchool(school.sim, Math.ceil(school.base * 0.8), 'tst');
    const preview = await startRun(school.id, { testRun: true });
    const previewed = await waitForStatus(school.id, preview.id, ['succeeded', 'held']);
    expect(previewed).toMatchObject({ status: 'succeeded', hold: null });

    await put(school.id, { ...school.body, safety: { enabled: false } });
    const commit = await startRun(school.id);
    expect(await waitForStatus(school.id, commit.id, ['succeeded', 'held'])).toMatchObject({
      status: 'succeeded',
      hold: null,
    });
  });

  it('at most the threshold, or below minStudents', async () => {
    const school = await committedSchool();
    await renameInPowerSchool(school.sim, Math.floor(school.base * 0.75), 'low');
    const low = await startRun(school.id);
    expect(await waitForStatus(school.id, low.id, ['succeeded', 'held'])).toMatchObject({ status: 'succeeded' });

    await put(school.id, { ...school.body, safety: { minStudents: school.base + 1 } });
    await renameInPowerSchool(school.sim, school.base, 'few');
    const few = await startRun(school.id);
    expect(await waitForStatus(school.id, few.id, ['succeeded', 'held'])).toMatchObject({ status: 'succeeded' });
  });

  it("a school's first commit, even over students that were there before it", async () => {
    const sim = await startTestSimulator({ students: 150, maxPageSize: 100 });
    sims.push(sim);
    const id = uniqueSchoolId('hold-first');
    const inScope = sim.students.inScope(GRADES.from, GRADES.to);
    // Every stored student differs from PowerSchool: 100% updates, but no commit has written yet.
    await api.db
      .insertInto('students')
      .values(
        inScope.map((s) => ({
          school_id: id,
          dcid: s.dcid,
          first_name: 'Before',
          last_name: 'Before',
          graduation_year: s.sched_yearofgraduation,
        })),
      )
      .execute();
    await put(
      id,
      settings({
        powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
        grades: GRADES,
        active: true,
        testRun: false,
      }),
    );
    const first = await startRun(id);
    const done = await waitForStatus(id, first.id, ['succeeded', 'held']);
    expect(done).toMatchObject({ status: 'succeeded', hold: null });
    expect(done.counts.updated).toBeGreaterThan(inScope.length * 0.9);
  });
});

describe('approve and discard: only of a held run, once', () => {
  it('409 RUN_NOT_HELD on running, succeeded and discarded runs; 404 for an unknown run', async () => {
    const school = await committedSchool();
    const runs = await api.req({ method: 'GET', url: `/v1/schools/${school.id}/runs` });
    const succeeded = runs.json().runs[0] as Run;
    for (const decision of ['approve', 'discard'] as const) {
      const res = await decide(school.id, succeeded.id, decision);
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('RUN_NOT_HELD');
    }
    expect((await decide(school.id, 'powerschool-sync-nope', 'approve')).statusCode).toBe(404);
    expect((await decide(uniqueSchoolId(), succeeded.id, 'approve')).statusCode).toBe(404);

    school.sim.setFaults({ latencyMs: 400 });
    const running = await startRun(school.id);
    for (const decision of ['approve', 'discard'] as const) {
      const res = await decide(school.id, running.id, decision);
      expect(res.json().error?.code).toBe('RUN_NOT_HELD');
    }
    school.sim.setFaults({});
    await waitForStatus(school.id, running.id, ['succeeded']);

    const { run } = await heldCommit(school, 'nh');
    expect((await decide(school.id, run.id, 'discard')).statusCode).toBe(200);
    for (const decision of ['approve', 'discard'] as const) {
      const res = await decide(school.id, run.id, decision);
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('RUN_NOT_HELD');
    }
  });

  it('two concurrent approvals: one is accepted, the other 409; the changes are written once', async () => {
    const school = await committedSchool();
    const { run } = await heldCommit(school, 'twice');
    const answers = await Promise.all([decide(school.id, run.id, 'approve'), decide(school.id, run.id, 'approve')]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 409]);
    expect(answers.find((a) => a.statusCode === 409)!.json().error.code).toBe('RUN_NOT_HELD');
    const done = await waitForStatus(school.id, run.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', counts: run.counts });
    const history = await api.client.workflow.getHandle(run.id).fetchHistory();
    const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    expect(scheduled.filter((n) => n === 'resumeHeldRun')).toHaveLength(1);
    expect(scheduled.filter((n) => n === 'applyHeldRun')).toHaveLength(1);
  });

  it('a student changed by hand after the hold → HOLD_STALE, nothing written', async () => {
    const school = await committedSchool();
    const { run } = await heldCommit(school, 'stale');
    const changes = await allChanges(school.id, run.id);
    const touched = String(changes[0]!.after.dcid);
    await api.db
      .updateTable('students')
      .set({ first_name: 'Changed-By-Hand' })
      .where('school_id', '=', school.id)
      .where('dcid', '=', touched)
      .execute();
    const before = await studentsOf(api.db, school.id);

    expect((await decide(school.id, run.id, 'approve')).statusCode).toBe(202);
    const done = await waitForStatus(school.id, run.id, ['failed', 'succeeded']);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'HOLD_STALE' } });
    expect(await studentsOf(api.db, school.id)).toEqual(before);
  });

  it('a student added to PowerSchool after the hold is not created by the approve', async () => {
    const school = await committedSchool();
    const { run } = await heldCommit(school, 'late');
    const late = school.sim.students.add({
      first_name: 'Late',
      last_name: 'Arrival',
      grade_level: 10,
      enroll_status: 0,
    });
    expect((await decide(school.id, run.id, 'approve')).statusCode).toBe(202);
    expect(await waitForStatus(school.id, run.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
    const dcids = (await studentsOf(api.db, school.id)).map((s) => s.dcid);
    expect(dcids).not.toContain(String(late.dcid));
    expect(dcids).toHaveLength(school.base);
  });

  it('pause and a settings write leave it held; DELETE of the integration discards it INTEGRATION_DELETED', async () => {
    const school = await committedSchool();
    const { run } = await heldCommit(school, 'del');
    await api.req({ method: 'POST', url: `/v1/schools/${school.id}/integration/pause` });
    await put(school.id, { ...school.body, active: false, grades: { from: 9, to: 12 } });
    expect((await getRun(school.id, run.id)).status).toBe('held');

    const deleted = await api.req({ method: 'DELETE', url: `/v1/schools/${school.id}/integration` });
    expect(deleted.statusCode).toBe(204);
    expect(await getRun(school.id, run.id)).toMatchObject({
      status: 'discarded',
      error: { code: 'INTEGRATION_DELETED' },
    });
  });
});

describe('on-call view', () => {
  it('SyncStatus="held" lists exactly the held runs; no student data in a held run\'s history', async () => {
    const [a, b] = await Promise.all([committedSchool(), committedSchool()]);
    const [heldA, heldB] = await Promise.all([heldCommit(a, 'sa'), heldCommit(b, 'sb')]);
    const listed = async () => {
      const ids: string[] = [];
      for await (const wf of api.client.workflow.list({ query: 'SyncStatus="held"' })) ids.push(wf.workflowId);
      return ids.sort();
    };
    await vi.waitFor(async () => expect(await listed()).toEqual([heldA.run.id, heldB.run.id].sort()), {
      timeout: 20_000,
      interval: 250,
    });
    const described = await api.client.workflow.getHandle(heldA.run.id).describe();
    expect(described.typedSearchAttributes.get(SyncStatusKey)).toBe('held');

    const text = await historyText(api.client as Client, heldA.run.id);
    expect(text).toContain('TOO_MANY_UPDATES');
    const students = a.sim.students.list();
    expect(findPersonalData('held run history', text, students, [a.sim.clientSecret], { fieldNames: true })).toEqual(
      [],
    );

    expect((await decide(b.id, heldB.run.id, 'approve')).statusCode).toBe(202);
    await waitForStatus(b.id, heldB.run.id, ['succeeded']);
    await vi.waitFor(async () => expect(await listed()).toEqual([heldA.run.id]), { timeout: 20_000, interval: 250 });
    expect((await decide(a.id, heldA.run.id, 'discard')).statusCode).toBe(200);
    await vi.waitFor(async () => expect(await listed()).toEqual([]), { timeout: 20_000, interval: 250 });
  });
});

describe('hold expiry', () => {
  it('after holdDays the run is discarded HOLD_EXPIRED, with one hold email and one end email', async () => {
    const school = await committedSchool({ holdDays: 1 });
    const before = await studentsOf(api.db, school.id);
    await renameInPowerSchool(school.sim, Math.ceil(school.base * 0.8), 'exp');
    // A test-only "day" of 3 s: a workflow option neither the API, a schedule nor the environment sets.
    const handle = await startSync(api.client, api.config.temporal.taskQueue, {
      schoolId: school.id,
      trigger: 'manual',
      options: { holdDayMs: 3_000 },
    });
    const held = await waitForStatus(school.id, handle.workflowId, ['held']);
    expect(Date.parse(held.hold!.expiresAt) - Date.parse(held.hold!.heldAt)).toBe(3_000);
    const result = (await handle.result()) as SyncStudentsResult;
    expect(result.status).toBe('discarded');
    expect(await getRun(school.id, handle.workflowId)).toMatchObject({
      status: 'discarded',
      error: { code: 'HOLD_EXPIRED' },
    });
    expect(await studentsOf(api.db, school.id)).toEqual(before);
    const emails = deliveriesOf(handle.workflowId);
    expect(emails.map((d) => d.idempotencyKey).sort()).toEqual([handle.workflowId, `${handle.workflowId}-held`]);
    expect(emails.find((d) => d.idempotencyKey === handle.workflowId)!.text).toContain(
      'Nothing was written: nobody approved the held sync before its hold expired',
    );
    expect((await handle.describe()).typedSearchAttributes.get(SyncStatusKey)).toBeUndefined();
  });
});

describe('no worker', () => {
  it('approve answers 503 TEMPORAL_UNAVAILABLE within 10 s + margin and never takes effect later', async () => {
    const school = await committedSchool();
    const { run } = await heldCommit(school, 'down');
    await worker.stop();
    const asked = Date.now();
    const refused = await decide(school.id, run.id, 'approve');
    const waitedMs = Date.now() - asked;
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.json().error.code).toBe('TEMPORAL_UNAVAILABLE');
    expect(waitedMs).toBeGreaterThanOrEqual(10_000);
    expect(waitedMs).toBeLessThan(20_000);

    worker = await startSyncWorker(api.client, syncTestConfig({ TEMPORAL_NAMESPACE: namespace }), api.db, {
      taskQueue: api.config.temporal.taskQueue,
      emailSender: new ResendEmailSender(resend.apiKey, resend.url),
    });
    // The refused approve reaches the workflow (if the server kept it) before this discard, and is
    // refused there as late: had it been taken, the run would be running and this would be a 409.
    const discarded = await decide(school.id, run.id, 'discard');
    expect(discarded.statusCode, discarded.body).toBe(200);
    expect(discarded.json().status).toBe('discarded');
  });
});
