import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type SimulatedStudent, type Simulator } from '../../simulator/index.js';
import { startApiWorker, startTestApi, type TestApi } from '../api/support.js';
import { uniqueSchoolId } from '../helpers/env.js';

/**
 * Existing Cialfo accounts, end to end on real parts: the API imports them, runs on the worker
 * (Temporal + PostgreSQL) read the simulator, match, link and open reviews; people resolve them
 * through the API and the next commit applies it.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let api: TestApi;
let worker: Awaited<ReturnType<typeof startApiWorker>>;
const sims: Simulator[] = [];

beforeAll(async () => {
  api = await startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true', LOG_LEVEL: 'silent' } });
  worker = await startApiWorker(api);
});
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await worker?.stop();
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
      departed: 0,
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

/** A record with two candidate accounts (same names and date of birth): a review on the first commit. */
function pairRecord(sim: Simulator, tag: string, day: number) {
  const record = inScopeRecord(sim, { first_name: 'Eva', last_name: `Twin-${tag}`, dob: dateOf(day) });
  const account = (suffix: string): Account => ({
    externalId: `${tag}-${suffix}`,
    firstName: 'EVA',
    lastName: `twin-${tag}`,
    dateOfBirth: dateOf(day),
    graduationYear: record.sched_yearofgraduation,
  });
  return { record, accounts: [account('a'), account('b')] };
}

async function reviewOf(schoolId: string, dcid: number): Promise<Json> {
  const reviews = await all(`/v1/schools/${schoolId}/match-reviews`, 'reviews');
  return reviews.find((r) => r.dcid === String(dcid))!;
}

async function accountId(schoolId: string, externalId: string): Promise<string> {
  const row = await api.db
    .selectFrom('students')
    .select('id')
    .where('school_id', '=', schoolId)
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('match reviews: resolve, reopen, unlink', () => {
  it('3. link / create / ignore are applied by the next commit, exactly; 409 on a second resolve; 400 for a student not unlinked in the school', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('review');
    const pairs = ['link', 'create', 'ignore', 'first', 'second'].map((tag, i) => pairRecord(sim, tag, 100 + i));
    const solo = inScopeRecord(sim, { first_name: 'Solo', last_name: 'Match', dob: dateOf(200) });
    await setUp(sim, schoolId);
    await importAccounts(schoolId, [
      ...pairs.flatMap((p) => p.accounts),
      {
        externalId: 'solo',
        firstName: 'solo',
        lastName: 'match',
        dateOfBirth: dateOf(200),
        graduationYear: solo.sched_yearofgraduation,
      },
    ]);
    const otherSchool = uniqueSchoolId('review-other');
    await setUp(sim, otherSchool);
    await importAccounts(otherSchool, [
      { externalId: 'x', firstName: 'Other', lastName: 'School', dateOfBirth: null, graduationYear: null },
    ]);

    const first = await runToEnd(schoolId, false);
    expect(first.counts).toMatchObject({ linked: 1, needsReview: 5, created: 0 });
    const [linkReview, createReview, ignoreReview, firstReview, secondReview] = await Promise.all(
      pairs.map((p) => reviewOf(schoolId, p.record.dcid)),
    );
    const resolve = (review: Json, body: Json) =>
      call('POST', `/v1/schools/${schoolId}/match-reviews/${review!.id}/resolve`, body);

    // Refused: a student of another school, one already linked, an unknown student, an unknown review.
    for (const studentId of [
      await accountId(otherSchool, 'x'),
      await accountId(schoolId, 'solo'),
      '00000000-0000-4000-8000-000000000000',
    ]) {
      const refused = await resolve(linkReview!, { action: 'link', studentId });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'studentId' }] });
    }
    expect((await resolve({ id: '999999999' }, { action: 'create' })).status).toBe(404);
    expect((await resolve(linkReview!, { action: 'link' })).status).toBe(400);

    const chosen = await accountId(schoolId, 'link-a');
    const resolved = await resolve(linkReview!, { action: 'link', studentId: chosen });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: { action: 'link', studentId: chosen } });
    expect((await resolve(linkReview!, { action: 'ignore' })).body.error.code).toBe('REVIEW_RESOLVED');
    expect((await resolve(linkReview!, { action: 'ignore' })).status).toBe(409);
    await ok('POST', `/v1/schools/${schoolId}/match-reviews/${createReview!.id}/resolve`, { action: 'create' });
    await ok('POST', `/v1/schools/${schoolId}/match-reviews/${ignoreReview!.id}/resolve`, { action: 'ignore' });
    // Two reviews resolved to the same account: the earlier one gets it, the other reopens.
    const contested = await accountId(schoolId, 'first-a');
    await ok('POST', `/v1/schools/${schoolId}/match-reviews/${firstReview!.id}/resolve`, {
      action: 'link',
      studentId: contested,
    });
    await ok('POST', `/v1/schools/${schoolId}/match-reviews/${secondReview!.id}/resolve`, {
      action: 'link',
      studentId: contested,
    });

    // Nothing is applied before a commit: a test run only shows it.
    const before = await studentRows(schoolId);
    const preview = await runToEnd(schoolId, true);
    expect(preview.counts).toMatchObject({ linked: 2, created: 1, needsReview: 1 });
    expect(await studentRows(schoolId)).toEqual(before);

    const second = await runToEnd(schoolId, false);
    expect(second.counts).toMatchObject({ linked: 2, created: 1, needsReview: 1, updated: 0 });
    const links = await all(`/v1/schools/${schoolId}/runs/${second.id}/changes?type=link`, 'changes');
    expect(links.map((c) => [c.powerschoolId, c.after.id]).sort()).toEqual(
      [
        [String(pairs[0]!.record.dcid), chosen],
        [String(pairs[3]!.record.dcid), contested],
      ].sort(),
    );
    const rows = await studentRows(schoolId);
    const withDcid = (dcid: number) => rows.filter((r) => r.dcid === String(dcid));
    expect(withDcid(pairs[0]!.record.dcid)).toMatchObject([{ id: chosen, external_id: 'link-a', status: 'active' }]);
    expect(withDcid(pairs[1]!.record.dcid)).toMatchObject([{ external_id: null, status: 'active' }]);
    expect(withDcid(pairs[2]!.record.dcid)).toEqual([]);
    expect(withDcid(pairs[3]!.record.dcid)).toMatchObject([{ id: contested }]);
    expect(withDcid(pairs[4]!.record.dcid)).toEqual([]);
    expect(await reviewOf(schoolId, pairs[4]!.record.dcid)).toMatchObject({ status: 'open', resolution: null });
    expect(await reviewOf(schoolId, pairs[2]!.record.dcid)).toMatchObject({
      status: 'resolved',
      resolution: { action: 'ignore', studentId: null },
    });

    // Reopen: the ignored record waits for a person again.
    const reopened = await ok('POST', `/v1/schools/${schoolId}/match-reviews/${ignoreReview!.id}/reopen`);
    expect(reopened).toMatchObject({ status: 'open', resolution: null });
    expect((await call('POST', `/v1/schools/${schoolId}/match-reviews/999999999/reopen`)).status).toBe(404);
    const third = await runToEnd(schoolId, false);
    expect(third.counts).toMatchObject({ linked: 0, created: 0, needsReview: 2 });

    // Unlink a wrong link: the account is unlinked again (same id and externalId), its DCID waits
    // for a review instead of being linked to it again or created.
    const unlinked = await ok('POST', `/v1/schools/${schoolId}/students/${chosen}/unlink`);
    expect(unlinked).toMatchObject({
      id: chosen,
      externalId: 'link-a',
      status: 'unlinked',
      dcid: null,
      powerschoolId: null,
      studentNumber: null,
    });
    const again = await call('POST', `/v1/schools/${schoolId}/students/${chosen}/unlink`);
    expect([again.status, again.body.error.code]).toEqual([409, 'NOT_LINKED']);
    const created = withDcid(pairs[1]!.record.dcid)[0]!;
    expect((await call('POST', `/v1/schools/${schoolId}/students/${created.id}/unlink`)).status).toBe(409);
    expect(
      (await call('POST', `/v1/schools/${schoolId}/students/00000000-0000-4000-8000-000000000000/unlink`)).status,
    ).toBe(404);
    const fourth = await runToEnd(schoolId, false);
    expect(fourth.counts).toMatchObject({ linked: 0, created: 0, needsReview: 3, missing: 0 });
    const back = await reviewOf(schoolId, pairs[0]!.record.dcid);
    expect(back).toMatchObject({ status: 'open', resolution: null, runId: fourth.id });
    expect(back.candidates.map((c: Json) => c.externalId).sort()).toEqual(['link-a', 'link-b']);
    expect((await studentRows(schoolId)).filter((r) => r.dcid === String(pairs[0]!.record.dcid))).toEqual([]);
  });

  it('4. re-importing the same file changes nothing; changed names update unlinked accounts only and reopen reviews with those names', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('import');
    const solo = inScopeRecord(sim, { first_name: 'Mia', last_name: 'Solo', dob: dateOf(10) });
    const pair = pairRecord(sim, 'reopen', 20);
    await setUp(sim, schoolId);
    const file: Account[] = [
      {
        externalId: 'solo',
        firstName: 'MIA',
        lastName: 'solo',
        dateOfBirth: dateOf(10),
        graduationYear: solo.sched_yearofgraduation,
      },
      { externalId: 'free', firstName: 'Free', lastName: 'Account', dateOfBirth: null, graduationYear: 2031 },
      ...pair.accounts,
    ];
    expect(await importAccounts(schoolId, file)).toEqual({ imported: 4, updated: 0, unchanged: 0 });
    expect(await importAccounts(schoolId, file)).toEqual({ imported: 0, updated: 0, unchanged: 4 });
    await runToEnd(schoolId, false);
    const linkedBefore = (await studentRows(schoolId)).find((r) => r.external_id === 'solo')!;
    expect(linkedBefore).toMatchObject({ status: 'active', first_name: 'Mia', dcid: String(solo.dcid) });

    const afterCommit = await studentRows(schoolId);
    expect(await importAccounts(schoolId, file)).toEqual({ imported: 0, updated: 0, unchanged: 4 });
    expect(await studentRows(schoolId)).toEqual(afterCommit);

    const renamed = file.slice(0, 2).map((a) => ({ ...a, firstName: `${a.firstName}  Renamed ` }));
    expect(await importAccounts(schoolId, renamed)).toEqual({ imported: 0, updated: 1, unchanged: 1 });
    const rows = await studentRows(schoolId);
    expect(rows.find((r) => r.external_id === 'solo')).toEqual(linkedBefore);
    expect(rows.find((r) => r.external_id === 'free')).toMatchObject({
      first_name: 'Free Renamed',
      status: 'unlinked',
    });

    // A resolved review reopens when an import creates or changes an account with its names.
    const review = await reviewOf(schoolId, pair.record.dcid);
    await ok('POST', `/v1/schools/${schoolId}/match-reviews/${review.id}/resolve`, { action: 'ignore' });
    await importAccounts(schoolId, [{ ...file[1]!, firstName: 'Free Again' }]);
    expect(await reviewOf(schoolId, pair.record.dcid)).toMatchObject({ status: 'resolved' });
    await importAccounts(schoolId, [{ ...pair.accounts[0]!, externalId: 'reopen-c' }]);
    expect(await reviewOf(schoolId, pair.record.dcid)).toMatchObject({ status: 'open', resolution: null });
  });

  it('4. the import route validates every account: 1–1000, unique externalIds, real dates, names; 404 without an integration', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('import');
    const account = { externalId: 'a', firstName: 'A', lastName: 'B', dateOfBirth: null, graduationYear: null };
    expect((await call('POST', `/v1/schools/${schoolId}/students/import`, { students: [account] })).status).toBe(404);
    await setUp(sim, schoolId);
    const url = `/v1/schools/${schoolId}/students/import`;
    const cases: Array<[unknown, string]> = [
      [{ students: [] }, 'students'],
      [{ students: Array.from({ length: 1001 }, (_, i) => ({ ...account, externalId: `e${i}` })) }, 'students'],
      [{ students: [account, { ...account }] }, 'students.1.externalId'],
      [{ students: [{ ...account, externalId: '' }] }, 'students.0.externalId'],
      [{ students: [{ ...account, externalId: 'x'.repeat(65) }] }, 'students.0.externalId'],
      [{ students: [{ ...account, dateOfBirth: '2009-02-30' }] }, 'students.0.dateOfBirth'],
      [{ students: [{ ...account, firstName: '   ' }] }, 'students.0.firstName'],
      [{ students: [{ ...account, lastName: 'x'.repeat(51) }] }, 'students.0.lastName'],
      [{ students: [{ ...account, extra: 1 }] }, 'students.0.extra'],
    ];
    for (const [payload, path] of cases) {
      const res = await call('POST', url, payload);
      expect(res.status, path).toBe(400);
      expect(res.body.error.details.map((d: Json) => d.path)).toContain(path);
    }
    const thousand = Array.from({ length: 1000 }, (_, i) => ({
      ...account,
      externalId: `cialfo-account-${i}`,
      firstName: 'Maximilian-Alexander',
      lastName: 'Montgomery-Fitzgerald',
      dateOfBirth: '2009-01-31',
      graduationYear: 2027,
    }));
    expect(await ok('POST', url, { students: thousand })).toEqual({ imported: 1000, updated: 0, unchanged: 0 });
    // Listed after the synced students, every one exactly once.
    const listed = await all(`/v1/schools/${schoolId}/students`, 'students');
    expect(listed).toHaveLength(1000);
    expect(new Set(listed.map((s) => s.externalId)).size).toBe(1000);
    expect(listed[0]).toMatchObject({ status: 'unlinked', dcid: null, powerschoolId: null, lastSeenRunId: null });
  });
});

describe('matching.enabled', () => {
  it('off: every new record is created as before, and the imported accounts stay unlinked', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('nomatch');
    const record = inScopeRecord(sim, { first_name: 'Mia', last_name: 'Solo', dob: dateOf(10) });
    await setUp(sim, schoolId);
    const body = (await ok('GET', `/v1/schools/${schoolId}/integration`)) as Json;
    expect(body.matching).toEqual({ enabled: true });
    await ok('PUT', `/v1/schools/${schoolId}/integration`, {
      powerschool: { serverUrl: sim.url, clientId: sim.clientId },
      active: true,
      grades: { from: 9, to: 12 },
      mapping: { dateOfBirth: true },
      matching: { enabled: false },
    });
    await importAccounts(schoolId, [
      {
        externalId: 'solo',
        firstName: 'mia',
        lastName: 'SOLO',
        dateOfBirth: dateOf(10),
        graduationYear: record.sched_yearofgraduation,
      },
    ]);
    const commit = await runToEnd(schoolId, false);
    expect(commit.counts).toMatchObject({ created: 1, linked: 0, needsReview: 0, missing: 0 });
    const rows = await studentRows(schoolId);
    expect(rows.map((r) => [r.external_id, r.status, r.dcid]).sort()).toEqual(
      [
        [null, 'active', String(record.dcid)],
        ['solo', 'unlinked', null],
      ].sort(),
    );
  });
});

describe('POSSIBLE_DUPLICATE', () => {
  it('5. two records with the same names and date of birth → two issues, both synced', async () => {
    const sim = await emptySimulator();
    const schoolId = uniqueSchoolId('dup');
    const a = inScopeRecord(sim, { first_name: 'Noah', last_name: 'Berg', dob: '2009-05-05' });
    const b = inScopeRecord(sim, { first_name: 'NOAH ', last_name: 'Bérg', dob: '2009-05-05' });
    inScopeRecord(sim, { first_name: 'Noah', last_name: 'Berg', dob: '2009-05-06' });
    inScopeRecord(sim, { first_name: 'Other', last_name: 'Student', dob: '2009-05-05' });
    await setUp(sim, schoolId);
    const preview = await runToEnd(schoolId, true);
    const commit = await runToEnd(schoolId, false);
    expect(commit.counts).toMatchObject({ fetched: 4, created: 4, invalid: 0 });
    for (const run of [preview, commit]) {
      const issues = await all(`/v1/schools/${schoolId}/runs/${run.id}/issues`, 'issues');
      expect(
        issues.map(({ dcid, powerschoolId, field, code, skipped }) => ({ dcid, powerschoolId, field, code, skipped })),
      ).toEqual(
        [a, b].map((r) => ({
          dcid: String(r.dcid),
          powerschoolId: String(r.dcid),
          field: 'record',
          code: 'POSSIBLE_DUPLICATE',
          skipped: false,
        })),
      );
      expect(issues[0]!.message).toContain(String(b.dcid));
    }
  });
});
