import { describe, expect, it } from 'vitest';
import { normaliseStudent } from '../../powerschool/records.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { seedStudents } from '../../simulator/students.js';
import { simulator } from '../powerschool/helpers.js';

const ALL =
  'dcid,id,student_number,first_name,last_name,dob,gender,grade_level,sched_yearofgraduation,enroll_status,schoolid';

async function token(sim: Simulator): Promise<string> {
  const res = await fetch(`${sim.url}/oauth/access_token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
    },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function get(sim: Simulator, path: string, params: Record<string, string> = {}) {
  const url = new URL(sim.url + path);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${await token(sim)}`, accept: 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type TableBody = { record: { id: number; tables: { students: Record<string, unknown> } }[] };
const dcids = (body: unknown) => (body as TableBody).record.map((r) => r.id);

describe('seeded students', () => {
  it('are deterministic per seed, spread over grades −2…12 and statuses, mostly active', () => {
    const a = seedStudents({ count: 3000, seed: 42, schoolYearEnd: 2027 });
    expect(seedStudents({ count: 3000, seed: 42, schoolYearEnd: 2027 })).toEqual(a);
    expect(seedStudents({ count: 3000, seed: 43, schoolYearEnd: 2027 })).not.toEqual(a);
    expect(new Set(a.map((s) => s.grade_level))).toEqual(new Set([-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    expect(new Set(a.map((s) => s.enroll_status)).size).toBeGreaterThanOrEqual(5);
    const active = a.filter((s) => s.enroll_status === 0).length / a.length;
    expect(active).toBeGreaterThan(0.75);
    expect(new Set(a.map((s) => s.dcid)).size).toBe(a.length);
    for (const s of a) expect(s.sched_yearofgraduation).toBe(2027 + 12 - s.grade_level);
    const names = a.flatMap((s) => [s.first_name, s.last_name]).join(' ');
    for (const fragment of ['José', 'Zoë', 'Łukasz', "O'Brien", '-']) expect(names).toContain(fragment);
    expect(a.every((s) => normaliseStudent({ ...s, dcid: String(s.dcid) }).issues.length === 0)).toBe(true);
  });

  it('malformedShare breaks some records in ways the validator catches', () => {
    const a = seedStudents({ count: 2000, seed: 3, malformedShare: 0.1 });
    const flagged = a.filter((s) => normaliseStudent(s).issues.length > 0).length;
    expect(flagged).toBeGreaterThan(120);
    expect(flagged).toBeLessThan(300);
  });
});

describe('simulator: table endpoint', () => {
  it('filters with ==, =gt=, =ge=, =lt=, =le=, ; and * wildcards; counts the same', async () => {
    const sim = await simulator({ students: 400 });
    const list = sim.students.list();
    const mid = list[200]!.dcid;
    const cases: [string, (s: (typeof list)[number]) => boolean][] = [
      [
        'grade_level=ge=9;grade_level=le=12;enroll_status==0',
        (s) => s.grade_level >= 9 && s.grade_level <= 12 && s.enroll_status === 0,
      ],
      ['grade_level=gt=10', (s) => s.grade_level > 10],
      ['grade_level=lt=0', (s) => s.grade_level < 0],
      ['last_name==O*', (s) => /^o/i.test(s.last_name)],
      ['first_name==*é*', (s) => /é/i.test(s.first_name)],
      ['dob=ge=2010-01-01;dob=lt=2011-01-01', (s) => s.dob !== null && s.dob >= '2010-01-01' && s.dob < '2011-01-01'],
      ['enroll_status!=0', (s) => s.enroll_status !== 0],
      // DCID bounds are cut from the scope's cached view by binary search, on or between DCIDs.
      [`grade_level=ge=9;dcid=gt=${mid}`, (s) => s.grade_level >= 9 && s.dcid > mid],
      [`dcid=ge=${mid};dcid=le=${mid + 60}`, (s) => s.dcid >= mid && s.dcid <= mid + 60],
      [
        `dcid=gt=${mid - 1};dcid=lt=${mid + 61};enroll_status==0`,
        (s) => s.dcid > mid - 1 && s.dcid < mid + 61 && s.enroll_status === 0,
      ],
      [`dcid=ge=${list[0]!.dcid};dcid=le=${list[0]!.dcid}`, (s) => s.dcid === list[0]!.dcid],
    ];
    for (const [q, predicate] of cases) {
      const expected = list.filter(predicate).map((s) => s.dcid);
      expect(expected.length, q).toBeGreaterThan(0);
      const page = await get(sim, '/ws/schema/table/students', { q, projection: 'dcid', pagesize: '100' });
      expect(dcids(page.body), q).toEqual(expected.slice(0, 100));
      const count = await get(sim, '/ws/schema/table/students/count', { q });
      expect(count.body, q).toEqual({ count: expected.length });
    }
    const empty = await get(sim, '/ws/schema/table/students', {
      q: `dcid=gt=${mid};dcid=lt=${mid}`,
      projection: 'dcid',
    });
    expect(dcids(empty.body)).toEqual([]);
    expect((await get(sim, '/ws/schema/table/students/count', { q: 'grade_level>>9' })).status).toBe(400);
    expect((await get(sim, '/ws/schema/table/students/count', { q: 'shoe_size==9' })).status).toBe(400);
  });

  it('pages are 1-based; pagesize above the maximum is a 400; sort and sortdescending work', async () => {
    const sim = await simulator({ students: 100, maxPageSize: 25 });
    const all = sim.students.list().map((s) => s.dcid);
    const p1 = await get(sim, '/ws/schema/table/students', { projection: 'dcid', page: '1', pagesize: '25' });
    const p2 = await get(sim, '/ws/schema/table/students', { projection: 'dcid', page: '2', pagesize: '25' });
    expect([...dcids(p1.body), ...dcids(p2.body)]).toEqual(all.slice(0, 50));
    expect(dcids((await get(sim, '/ws/schema/table/students', { projection: 'dcid' })).body)).toHaveLength(25);
    expect((await get(sim, '/ws/schema/table/students', { projection: 'dcid', page: '0' })).status).toBe(400);
    const tooBig = await get(sim, '/ws/schema/table/students', { projection: 'dcid', pagesize: '26' });
    expect(tooBig.status).toBe(400);
    expect(String(tooBig.body.message)).toContain('maximum page size');
    const beyond = await get(sim, '/ws/schema/table/students', { projection: 'dcid', page: '9' });
    expect(beyond.body).toEqual({ name: 'Students', record: [] });
    const desc = await get(sim, '/ws/schema/table/students', {
      projection: 'dcid',
      sort: 'dcid',
      sortdescending: 'true',
      pagesize: '3',
    });
    expect(dcids(desc.body)).toEqual(all.slice(-3).reverse());
    const byName = await get(sim, '/ws/schema/table/students', {
      projection: 'dcid,last_name',
      sort: 'last_name',
      pagesize: '25',
    });
    const names = (byName.body as TableBody).record.map((r) => String(r.tables.students.last_name));
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('returns only the projected columns, in PowerSchool record form', async () => {
    const sim = await simulator({ students: 20 });
    const { body } = await get(sim, '/ws/schema/table/students', { projection: 'dcid,last_name', pagesize: '5' });
    const record = (body as TableBody).record[0]!;
    expect(record).toMatchObject({ id: expect.any(Number), name: 'Students' });
    expect(Object.keys(record.tables.students).sort()).toEqual(['dcid', 'last_name']);
  });

  it('an ungranted or unknown column gets the Validation Failed body', async () => {
    const sim = await simulator({ grantedColumns: ALL.split(',').filter((c) => c !== 'dob') });
    const denied = await get(sim, '/ws/schema/table/students', { projection: ALL });
    expect(denied).toEqual({
      status: 403,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'students', field: 'students.dob', code: 'No access to the field' }],
      },
    });
    expect((await get(sim, '/ws/schema/table/students', { projection: 'dcid,shoe_size' })).status).toBe(400);
    expect((await get(sim, '/ws/schema/table/students', {})).status).toBe(400);
  });

  it('answers 401 without a valid bearer token, with an "expired" hint', async () => {
    const sim = await simulator();
    const res = await fetch(`${sim.url}/ws/v1/metadata`, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('expired');
    const metadata = await get(sim, '/ws/v1/metadata');
    expect(metadata.body).toMatchObject({
      metadata: { student_max_page_size: 100, schema_table_query_max_page_size: 100 },
    });
  });
});

describe('simulator: control endpoints', () => {
  it('add, update, remove students and set faults over HTTP while serving', async () => {
    const sim = await simulator({ students: 10 });
    const json = { 'content-type': 'application/json' };
    const added = await fetch(`${sim.url}/_simulator/students`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ first_name: 'Zoë', last_name: "O'Brien-Łukasz", grade_level: 11, enroll_status: 0 }),
    });
    expect(added.status).toBe(201);
    const student = (await added.json()) as { dcid: number; sched_yearofgraduation: number };
    expect(sim.students.get(student.dcid)).toMatchObject({ first_name: 'Zoë', grade_level: 11 });
    const reference = sim.students.list()[0]!;
    const schoolYearEnd = reference.sched_yearofgraduation + reference.grade_level - 12;
    expect(student.sched_yearofgraduation).toBe(schoolYearEnd + 1); // grade 11 graduates next year

    const patched = await fetch(`${sim.url}/_simulator/students/${student.dcid}`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ dob: '2009-02-28' }),
    });
    expect(patched.status).toBe(200);
    expect(sim.students.get(student.dcid)!.dob).toBe('2009-02-28');
    expect(
      (
        await fetch(`${sim.url}/_simulator/students/${student.dcid}`, {
          method: 'PATCH',
          headers: json,
          body: JSON.stringify({ shoe: 1 }),
        })
      ).status,
    ).toBe(400);

    const listed = (await (await fetch(`${sim.url}/_simulator/students?limit=100`)).json()) as { total: number };
    expect(listed.total).toBe(11);
    expect((await fetch(`${sim.url}/_simulator/students/${student.dcid}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${sim.url}/_simulator/students/${student.dcid}`, { method: 'DELETE' })).status).toBe(404);
    expect(sim.students.get(student.dcid)).toBeUndefined();

    const faults = await fetch(`${sim.url}/_simulator/faults`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ errorRate: 1 }),
    });
    expect(faults.status).toBe(200);
    expect((await get(sim, '/ws/v1/metadata')).status).toBeGreaterThanOrEqual(500);
    expect(
      (
        await fetch(`${sim.url}/_simulator/faults`, {
          method: 'PUT',
          headers: json,
          body: JSON.stringify({ errorRate: 2 }),
        })
      ).status,
    ).toBe(400);
    const stats = (await (await fetch(`${sim.url}/_simulator/stats`)).json()) as { faults: { errors: number } };
    expect(stats.faults.errors).toBe(1);
  });

  it('serves 100,000 students: count, a late page and keyset pages come from the one cached scope', async () => {
    const sim = await startSimulator({ students: 100_000, seed: 1 });
    try {
      const q = 'grade_level=ge=9;grade_level=le=12;enroll_status==0';
      const expected = sim.students.inScope(9, 12);
      const count = await get(sim, '/ws/schema/table/students/count', { q });
      expect(count.body).toEqual({ count: expected.length });
      const last = Math.ceil(expected.length / 100);
      const page = await get(sim, '/ws/schema/table/students', {
        q,
        projection: 'dcid',
        page: String(last),
        pagesize: '100',
      });
      expect(dcids(page.body)).toEqual(expected.slice((last - 1) * 100).map((s) => s.dcid));

      // Keyset pages of the same scope (each with its own cursor) share that one view.
      const built = sim.students.viewsBuilt();
      let after = 0;
      for (let n = 0; n < 5; n++) {
        const next = await get(sim, '/ws/schema/table/students', {
          q: `${q};dcid=gt=${after}`,
          projection: 'dcid',
          pagesize: '100',
        });
        expect(dcids(next.body)).toEqual(expected.slice(n * 100, n * 100 + 100).map((s) => s.dcid));
        after = dcids(next.body).at(-1)!;
      }
      expect(sim.students.viewsBuilt()).toBe(built);
    } finally {
      await sim.close();
    }
  });
});

describe('simulator: a district', () => {
  it('spreads students over SIMULATOR_SCHOOLS schools, graduates sit in the Graduated Students school', async () => {
    const sim = await simulator({ students: 600, schools: 4 });
    const bySchool = new Map<number, number>();
    for (const s of sim.students.list()) bySchool.set(s.schoolid, (bySchool.get(s.schoolid) ?? 0) + 1);
    expect([...bySchool.keys()].sort((a, b) => a - b)).toEqual([100, 200, 300, 400, 999999]);
    for (const n of [100, 200, 300, 400]) expect(bySchool.get(n)).toBeGreaterThan(100);
    expect(
      sim.students
        .list()
        .filter((s) => s.schoolid === 999999)
        .every((s) => s.enroll_status === 3),
    ).toBe(true);
    const q = 'enroll_status==0;schoolid==200';
    const count = await get(sim, '/ws/schema/table/students/count', { q });
    expect(count.body).toEqual({
      count: sim.students.list().filter((s) => s.enroll_status === 0 && s.schoolid === 200).length,
    });
  });

  it('serves the SCHOOLS table with its own grants', async () => {
    const sim = await simulator({ schools: 2 });
    const { status, body } = await get(sim, '/ws/schema/table/schools', {
      projection: 'school_number,name,low_grade,high_grade',
    });
    expect(status).toBe(200);
    expect((body as { record: { tables: { schools: unknown } }[] }).record.map((r) => r.tables.schools)).toEqual([
      { school_number: '100', name: 'North School', low_grade: '-2', high_grade: '12' },
      { school_number: '200', name: 'South School', low_grade: '-2', high_grade: '12' },
      { school_number: '999999', name: 'Graduated Students', low_grade: '99', high_grade: '99' },
    ]);
    sim.setGrantedSchoolColumns(['school_number']);
    const denied = await get(sim, '/ws/schema/table/schools', { projection: 'school_number,name' });
    expect(denied).toEqual({
      status: 403,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'schools', field: 'schools.name', code: 'No access to the field' }],
      },
    });
  });

  it('leavers change as PowerSchool records them, in process and over HTTP', async () => {
    const sim = await simulator({ students: 900, schools: 3 });
    const [a, b, c, d, e] = sim.students.inScope(9, 11, [100]);
    sim.students.leave(a!.dcid, 'graduated');
    sim.students.leave(b!.dcid, 'transferred');
    sim.students.leave(c!.dcid, 'moved', 300);
    expect(sim.students.get(a!.dcid)).toMatchObject({ enroll_status: 3, schoolid: 999999, grade_level: 99 });
    expect(sim.students.get(b!.dcid)).toMatchObject({ enroll_status: 2, schoolid: 100, grade_level: b!.grade_level });
    expect(sim.students.get(c!.dcid)).toMatchObject({ enroll_status: 0, schoolid: 300 });
    const json = { 'content-type': 'application/json' };
    const post = (path: string, body: unknown) =>
      fetch(`${sim.url}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
    expect((await post(`/_simulator/students/${d!.dcid}/leave`, { kind: 'inactive' })).status).toBe(204);
    expect(sim.students.get(d!.dcid)!.enroll_status).toBe(1);
    expect((await post(`/_simulator/students/${e!.dcid}/leave`, { kind: 'deleted' })).status).toBe(204);
    expect(sim.students.get(e!.dcid)).toBeUndefined();
    expect((await post(`/_simulator/students/${d!.dcid}/leave`, { kind: 'moved' })).status).toBe(400);

    const seniorYear = sim.students.inScope(12, 12)[0]!.sched_yearofgraduation;
    const seniors = sim.students.inScope(12, 12, [200]).map((s) => s.dcid);
    const graduated = await post('/_simulator/graduate', { graduationYear: seniorYear, school: 200 });
    expect(((await graduated.json()) as { graduated: number[] }).graduated).toEqual(seniors);
    expect(sim.students.inScope(12, 12, [200])).toEqual([]);
    expect(sim.students.inScope(12, 12, [100]).length).toBeGreaterThan(0);
  });
});
