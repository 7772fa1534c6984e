import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type SimulatedStudent, type Simulator } from '../../simulator/index.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { startApiWorker, startTestApi, type TestApi } from './support.js';

/**
 * The whole loop through HTTP on real parts: the API, the sync worker, Temporal, PostgreSQL and
 * the PowerSchool simulator. PUT settings (test run) → POST run → poll until done → changes
 * preview → PUT testRun false → POST run → students listed with the right fields.
 */

let api: TestApi;
let sim: Simulator;
let worker: Awaited<ReturnType<typeof startApiWorker>>;

beforeAll(async () => {
  sim = await startSimulator({ students: 150, seed: 21, maxPageSize: 25 });
  api = await startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true' } });
  worker = await startApiWorker(api);
});
afterAll(async () => {
  await worker?.stop();
  await api?.close();
  await sim?.close();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function get(url: string): Promise<Json> {
  const res = await api.req({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function all(url: string, key: string): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  do {
    const page = await get(`${url}${url.includes('?') ? '&' : '?'}limit=40${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page[key]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

async function runToEnd(schoolId: string, body?: Json): Promise<Json> {
  const res = await api.req({ method: 'POST', url: `/v1/schools/${schoolId}/runs`, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  const started = res.json();
  let progressSeen = false;
  const run = await vi.waitFor(
    async () => {
      const run = await get(`/v1/schools/${schoolId}/runs/${started.id}`);
      if (run.progress.pagesFetched > 0) progressSeen = true;
      expect(run.status, `run ${started.id} still running: ${JSON.stringify(run)}`).not.toBe('running');
      return run;
    },
    { timeout: 60_000, interval: 150 },
  );
  return { ...run, progressSeen };
}

function expected(s: SimulatedStudent) {
  const studentNumber = s.student_number === '' ? null : String(Number(s.student_number));
  return {
    powerschoolId: studentNumber,
    dcid: String(s.dcid),
    studentNumber,
    firstName: s.first_name.trim().normalize('NFC'),
    lastName: s.last_name.trim().normalize('NFC'),
    graduationYear: s.sched_yearofgraduation,
    dateOfBirth: s.dob,
    gender: s.gender ? s.gender.toUpperCase() : null,
    gradeLevel: null,
    schoolNumber: s.schoolid,
    status: 'active',
    departedAt: null,
    departureReason: null,
  };
}

describe('end to end through the HTTP API', () => {
  it('test run → preview → commit → students', async () => {
    const schoolId = uniqueSchoolId('e2e');
    const inScope = sim.students.inScope(9, 12);
    expect(inScope.length).toBeGreaterThan(25); // more than one page

    const put = await api.req({
      method: 'PUT',
      url: `/v1/schools/${schoolId}/integration`,
      payload: {
        powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
        active: true,
        testRun: true,
        grades: { from: 9, to: 12 },
        mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: true },
      },
    });
    expect(put.statusCode, put.body).toBe(201);
    const connection = await api.req({ method: 'POST', url: `/v1/schools/${schoolId}/integration/test-connection` });
    expect(connection.json()).toEqual({ ok: true, studentsInScope: inScope.length });

    // 1. A test run: counts say what a commit would do; nothing is written to students.
    const preview = await runToEnd(schoolId);
    expect(preview).toMatchObject({
      trigger: 'manual',
      testRun: true,
      status: 'succeeded',
      finishedAt: expect.any(String),
      error: null,
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
    });
    expect(preview.temporal.uiUrl).toContain(`/workflows/${preview.id}`);
    const changes = await all(`/v1/schools/${schoolId}/runs/${preview.id}/changes`, 'changes');
    expect(changes).toHaveLength(inScope.length);
    expect(changes.every((c) => c.type === 'create' && c.before === null)).toBe(true);
    expect(changes.map((c) => c.powerschoolId).sort()).toEqual(inScope.map((s) => expected(s).powerschoolId).sort());
    expect(await all(`/v1/schools/${schoolId}/runs/${preview.id}/changes?type=update`, 'changes')).toEqual([]);
    expect(await all(`/v1/schools/${schoolId}/runs/${preview.id}/issues`, 'issues')).toEqual([]);
    expect(await all(`/v1/schools/${schoolId}/students`, 'students')).toEqual([]);

    // 2. Switch to commits, keeping the stored secret (omitted), then run.
    const replace = await api.req({
      method: 'PUT',
      url: `/v1/schools/${schoolId}/integration`,
      payload: {
        powerschool: { serverUrl: sim.url, clientId: sim.clientId },
        active: true,
        testRun: false,
        grades: { from: 9, to: 12 },
        mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: true },
      },
    });
    expect(replace.statusCode, replace.body).toBe(200);
    const commit = await runToEnd(schoolId);
    expect(commit).toMatchObject({
      testRun: false,
      status: 'succeeded',
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
    });
    expect((await all(`/v1/schools/${schoolId}/runs/${commit.id}/changes`, 'changes')).length).toBe(inScope.length);

    // 3. The students, with the right fields.
    const students = await all(`/v1/schools/${schoolId}/students`, 'students');
    expect(students).toHaveLength(inScope.length);
    const byDcid = new Map(students.map((s) => [s.dcid, s]));
    for (const s of inScope) {
      expect(byDcid.get(String(s.dcid))).toEqual({
        ...expected(s),
        id: expect.any(String),
        schoolId,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        lastSeenRunId: commit.id,
        externalId: null,
        status: 'active',
      });
    }

    // 4. Runs list newest first; lastRun is the commit; a preview-run override works with a body.
    const runs = await get(`/v1/schools/${schoolId}/runs`);
    expect(runs.runs.map((r: Json) => r.id)).toEqual([commit.id, preview.id]);
    const integration = await get(`/v1/schools/${schoolId}/integration`);
    const { progress: _p, progressSeen: _s, ...summary } = commit;
    expect(integration.lastRun).toEqual(summary);
    const again = await runToEnd(schoolId, { testRun: true });
    expect(again).toMatchObject({
      testRun: true,
      status: 'succeeded',
      counts: { fetched: inScope.length, created: 0, updated: 0, unchanged: inScope.length },
    });
  });
});
