import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type SimulatedStudent, type Simulator } from '../../simulator/index.js';
import { createWorker, type SyncWorker } from '../../worker/create-worker.js';
import { startTestApi, type TestApi } from '../api/support.js';
import { uniqueSchoolId, workflowBundle } from '../helpers/env.js';

/**
 * Existing Cialfo accounts, end to end on real parts: the API imports them, runs on the worker
 * (Temporal + PostgreSQL) read the simulator, match, link and open reviews; people resolve them
 * through the API and the next commit applies it.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let api: TestApi;
let worker: SyncWorker;
let running: Promise<void>;
const sims: Simulator[] = [];

beforeAll(async () => {
  api = await startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true', LOG_LEVEL: 'silent' } });
  worker = await createWorker(api.config, {
    db: api.db,
    temporalClient: api.client,
    workflowBundle: workflowBundle(),
    logger: pino({ level: 'silent' }),
    taskQueue: api.config.temporal.taskQueue,
  });
  running = worker.run();
});
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await api?.close();
});

/** A district of exactly the records a test adds (no random seed students). */
async function emptySimulator(): Promise<Simulator> {
  const sim = await startSimulator({ students: 0, seed: 3, maxPageSize: 100 });
  sims.push(sim);
  return sim;
}

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) {
  const res = await api.req({ method, url, ...(payload === undefined ? {} : { payload: payload as Json }) });
  return { status: res.statusCode, body: res.json() as Json };
}

async function ok(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Json> {
  const res = await call(method, url, payload);
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body;
}

async function all(url: string, key: string): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  do {
    const page = await ok('GET', `${url}${url.includes('?') ? '&' : '?'}limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page[key]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

async function setUp(sim: Simulator, schoolId: string) {
  await ok('PUT', `/v1/schools/${schoolId}/integration`, {
    powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
    active: true,
    testRun: true,
    grades: { from: 9, to: 12 },
    mapping: { powerschoolId: 'DCID', dateOfBirth: true, gender: false },
  });
}

async function importAccounts(schoolId: string, students: Account[]): Promise<Json> {
  return ok('POST', `/v1/schools/${schoolId}/students/import`, { students });
}

async function runToEnd(schoolId: string, testRun: boolean): Promise<Json> {
  const started = await ok('POST', `/v1/schools/${schoolId}/runs`, { testRun });
  return vi.waitFor(
    async () => {
      const run = await ok('GET', `/v1/schools/${schoolId}/runs/${started.id}`);
      expect(run.status, `run ${started.id} still running`).not.toBe('running');
      return run;
    },
    { timeout: 90_000, interval: 200 },
  );
}

async function studentRows(schoolId: string) {
  return api.db.selectFrom('students').selectAll().where('school_id', '=', schoolId).orderBy('id').execute();
}

interface Account {
  externalId: string;
  firstName: string;
  lastName: string;
  dateOfBirth: string | null;
  graduationYear: number | null;
}

const FIRST_NAMES = ['José', 'Øyvind', 'Łukasz', 'Æsa', 'Đorđe', 'İlker', 'Zoë', 'Straße'];
/** The same names as a Cialfo account may hold them: no accents, other case, stray spaces. */
const ACCOUNT_FIRST_NAMES = ['JOSE', 'oyvind', 'Lukasz', 'AESA', 'dorde', 'ilker', 'ZOE', 'strasse'];

function dateOf(i: number): string {
  return new Date(Date.UTC(2008, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
}

function inScopeRecord(sim: Simulator, fields: Partial<SimulatedStudent>): SimulatedStudent {
  return sim.students.add({
    enroll_status: 0,
    grade_level: 9 + (sim.students.list().length % 4),
    gender: 'F',
    ...fields,
  });
}

/**
 * The issue's 1,000 accounts: 900 each matching exactly one record (accents, case and spacing
 * differ; every tenth account has no date of birth and every tenth record none either, so those
 * match on graduation year), 40 pairs sharing names and date of birth with one record each, 20
 * matching nothing; plus 60 records no account matches.
 */
function thousandAccounts(sim: Simulator) {
  const accounts: Account[] = [];
  const matched = new Map<string, SimulatedStudent>();
  for (let i = 0; i < 900; i++) {
    const recordHasDob = i % 10 !== 1;
    const record = inScopeRecord(sim, {
      first_name: FIRST_NAMES[i % 8]!,
      last_name: `O'Brien-${i}`,
      dob: recordHasDob ? dateOf(i) : null,
    });
    const account: Account = {
      externalId: `c-${i}`,
      firstName: ACCOUNT_FIRST_NAMES[i % 8]!,
      lastName: `  o'brien-${i} `,
      dateOfBirth: i % 10 === 0 ? null : dateOf(i),
      graduationYear: record.sched_yearofgraduation,
    };
    accounts.push(account);
    matched.set(account.externalId, record);
  }
  const pairs: Array<{ record: SimulatedStudent; externalIds: [string, string] }> = [];
  for (let j = 0; j < 40; j++) {
    const record = inScopeRecord(sim, { first_name: 'Ana', last_name: `Pair-${j}`, dob: dateOf(2000 + j) });
    const externalIds: [string, string] = [`pair-${j}-a`, `pair-${j}-b`];
    for (const externalId of externalIds) {
      accounts.push({
        externalId,
        firstName: 'ana',
        lastName: `PAIR-${j}`,
        dateOfBirth: dateOf(2000 + j),
        graduationYear: record.sched_yearofgraduation,
      });
    }
    pairs.push({ record, externalIds });
  }
  for (let k = 0; k < 20; k++) {
    accounts.push({
      externalId: `none-${k}`,
      firstName: 'Nobody',
      lastName: `Matches-${k}`,
      dateOfBirth: dateOf(3000 + k),
      graduationYear: 2030,
    });
  }
  const unmatched: SimulatedStudent[] = [];
  for (let n = 0; n < 60; n++) {
    unmatched.push(inScopeRecord(sim, { first_name: 'Newly', last_name: `Enrolled-${n}`, dob: dateOf(4000 + n) }));
  }
  return { accounts, matched, pairs, unmatched };
}

describe('matching existing accounts', () => {
  it('1–2. a test run shows 900 links and 40 reviews and writes nothing; the commit links 900, opens 40 reviews, creates the rest once', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('match');
    const { accounts, matched, pairs, unmatched } = thousandAccounts(sim);
    await setUp(sim, schoolId);
    expect(await importAccounts(schoolId, accounts)).toEqual({ imported: 1000, updated: 0, unchanged: 0 });
    const imported = await studentRows(schoolId);
    const idOf = new Map(imported.map((s) => [s.external_id!, s.id]));

    const preview = await runToEnd(schoolId, true);
    expect(preview.status).toBe('succeeded');
    expect(preview.counts).toEqual({
      fetched: 1000,
      created: 60,
      updated: 0,
      unchanged: 0,
      invalid: 0,
      missing: 0,
      linked: 900,
      needsReview: 40,
    });
    const previewLinks = await all(`/v1/schools/${schoolId}/runs/${preview.id}/changes?type=link`, 'changes');
    expect(previewLinks).toHaveLength(900);
    for (const change of previewLinks) {
      const externalId = change.before.externalId as string;
      const record = matched.get(externalId)!;
      expect(change.powerschoolId).toBe(String(record.dcid));
      expect(change.before).toMatchObject({ id: idOf.get(externalId), status: 'unlinked', dcid: null });
      expect(change.after).toMatchObject({
        id: idOf.get(externalId),
        externalId,
        status: 'active',
        dcid: String(record.dcid),
        firstName: record.first_name,
        lastName: record.last_name,
      });
    }
    // A test run writes no student and opens no review.
    expect(await studentRows(schoolId)).toEqual(imported);
    expect(await all(`/v1/schools/${schoolId}/match-reviews`, 'reviews')).toEqual([]);

    const commit = await runToEnd(schoolId, false);
    expect(commit.status).toBe('succeeded');
    expect(commit.counts).toEqual(preview.counts);
    const commitLinks = await all(`/v1/schools/${schoolId}/runs/${commit.id}/changes?type=link`, 'changes');
    expect(commitLinks.map((c) => [c.powerschoolId, c.after.id])).toEqual(
      previewLinks.map((c) => [c.powerschoolId, c.after.id]),
    );

    const rows = await studentRows(schoolId);
    const byExternalId = new Map(rows.filter((r) => r.external_id).map((r) => [r.external_id!, r]));
    for (const [externalId, record] of matched) {
      expect(byExternalId.get(externalId)).toMatchObject({
        id: idOf.get(externalId),
        dcid: String(record.dcid),
        status: 'active',
        first_name: record.first_name,
        last_name: record.last_name,
        graduation_year: record.sched_yearofgraduation,
        linked_by_match: true,
      });
    }
    // Nobody twice: every in-scope record but the 40 under review has exactly one student.
    const dcids = rows.filter((r) => r.dcid !== null).map((r) => r.dcid);
    expect(new Set(dcids).size).toBe(dcids.length);
    expect(dcids).toHaveLength(960);
    for (const record of unmatched) expect(dcids).toContain(String(record.dcid));
    expect(rows.filter((r) => r.status === 'unlinked')).toHaveLength(100);

    const reviews = await all(`/v1/schools/${schoolId}/match-reviews?status=open`, 'reviews');
    expect(reviews).toHaveLength(40);
    for (const { record, externalIds } of pairs) {
      const review = reviews.find((r) => r.dcid === String(record.dcid))!;
      expect(review).toMatchObject({
        status: 'open',
        resolution: null,
        runId: commit.id,
        record: { firstName: 'Ana', lastName: record.last_name, dateOfBirth: record.dob },
      });
      expect(review.candidates.map((c: Json) => c.externalId).sort()).toEqual([...externalIds].sort());
      expect(review.candidates.every((c: Json) => c.status === 'unlinked' && c.dcid === null)).toBe(true);
    }

    // The next commit refreshes the same 40 reviews: one per DCID, never one per run.
    const again = await runToEnd(schoolId, false);
    expect(again.counts).toMatchObject({ created: 0, linked: 0, needsReview: 40, unchanged: 960, missing: 0 });
    const refreshed = await all(`/v1/schools/${schoolId}/match-reviews`, 'reviews');
    expect(refreshed.map((r) => r.id)).toEqual(reviews.map((r) => r.id));
    expect(refreshed.every((r) => r.runId === again.id)).toBe(true);
  });

  it('1. one date-less account claimed by two records (same names and class, different dates of birth) opens two reviews and links nothing', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('match');
    const a = inScopeRecord(sim, { first_name: 'Kim', last_name: 'Lee', dob: '2009-03-01', grade_level: 10 });
    const b = inScopeRecord(sim, { first_name: 'Kim', last_name: 'Lee', dob: '2009-07-09', grade_level: 10 });
    await setUp(sim, schoolId);
    await importAccounts(schoolId, [
      {
        externalId: 'kim',
        firstName: 'KIM',
        lastName: 'lee',
        dateOfBirth: null,
        graduationYear: a.sched_yearofgraduation,
      },
    ]);
    const commit = await runToEnd(schoolId, false);
    expect(commit.counts).toMatchObject({ fetched: 2, created: 0, linked: 0, needsReview: 2 });
    const reviews = await all(`/v1/schools/${schoolId}/match-reviews`, 'reviews');
    expect(reviews.map((r) => r.dcid).sort()).toEqual([String(a.dcid), String(b.dcid)].sort());
    for (const review of reviews) expect(review.candidates.map((c: Json) => c.externalId)).toEqual(['kim']);
    const rows = await studentRows(schoolId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'unlinked', dcid: null });
  });
});
