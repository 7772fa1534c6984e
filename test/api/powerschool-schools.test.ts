import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { expectErrorShape, settings, startTestApi, type TestApi } from './support.js';

/** GET …/integration/powerschool-schools and test-connection's count, against a simulated district. */
describe('PowerSchool schools (districts)', () => {
  let sim: Simulator;
  let api: TestApi;
  beforeAll(async () => {
    sim = await startSimulator({ students: 300, seed: 8, schools: 3 });
    api = await startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true' } });
  });
  afterAll(async () => {
    await api?.close();
    await sim?.close();
  });

  const url = (schoolId: string, rest = '') => `/v1/schools/${schoolId}/integration${rest}`;
  const put = (id: string, schools: number[] | undefined, clientSecret = sim.clientSecret) =>
    api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({
        powerschool: {
          serverUrl: sim.url,
          clientId: sim.clientId,
          clientSecret,
          ...(schools === undefined ? {} : { schools }),
        },
      }),
    });

  it('lists the district’s schools sorted by number, with `selected` right and unknown stored numbers last-known as null', async () => {
    const id = uniqueSchoolId();
    expect((await put(id, [300, 200, 777])).statusCode).toBe(201);
    const res = await api.req({ method: 'GET', url: url(id, '/powerschool-schools') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      schools: [
        { schoolNumber: 100, name: 'North School', lowGrade: -2, highGrade: 12, selected: false },
        { schoolNumber: 200, name: 'South School', lowGrade: -2, highGrade: 12, selected: true },
        { schoolNumber: 300, name: 'East School', lowGrade: -2, highGrade: 12, selected: true },
        { schoolNumber: 777, name: null, lowGrade: null, highGrade: null, selected: true },
        { schoolNumber: 999999, name: 'Graduated Students', lowGrade: 99, highGrade: 99, selected: false },
      ],
    });
    // The integration echoes the stored numbers.
    expect((await api.req({ method: 'GET', url: url(id) })).json().powerschool.schools).toEqual([300, 200, 777]);
  });

  it('selects every school when none is stored (v1)', async () => {
    const id = uniqueSchoolId();
    await put(id, undefined);
    const body = (await api.req({ method: 'GET', url: url(id, '/powerschool-schools') })).json();
    expect(body.schools.map((s: { selected: boolean }) => s.selected)).toEqual([true, true, true, true]);
    expect((await api.req({ method: 'GET', url: url(id) })).json().powerschool.schools).toEqual([]);
  });

  it('test-connection counts only the selected schools', async () => {
    const id = uniqueSchoolId();
    await put(id, [200]);
    const one = await api.req({ method: 'POST', url: url(id, '/test-connection') });
    expect(one.json()).toEqual({ ok: true, studentsInScope: sim.students.inScope(9, 12, [200]).length });
    await put(id, [100, 300]);
    const two = await api.req({ method: 'POST', url: url(id, '/test-connection') });
    expect(two.json()).toEqual({ ok: true, studentsInScope: sim.students.inScope(9, 12, [100, 300]).length });
    expect(sim.students.inScope(9, 12, [200]).length).toBeLessThan(sim.students.inScope(9, 12).length);
  });

  it('404 without an integration; 422 with the POWERSCHOOL_* codes test-connection gives', async () => {
    const missing = await api.req({ method: 'GET', url: url(uniqueSchoolId(), '/powerschool-schools') });
    expect(missing.statusCode).toBe(404);

    const wrong = uniqueSchoolId();
    await put(wrong, [], 'wrong-secret');
    const auth = await api.req({ method: 'GET', url: url(wrong, '/powerschool-schools') });
    expect(auth.statusCode).toBe(422);
    expect(auth.json().error.code).toBe('POWERSCHOOL_AUTH_FAILED');

    const id = uniqueSchoolId();
    await put(id, [100]);
    sim.setGrantedSchoolColumns(['school_number']); // a v1 plugin: no SCHOOLS.NAME …
    try {
      const forbidden = await api.req({ method: 'GET', url: url(id, '/powerschool-schools') });
      expect(forbidden.statusCode).toBe(422);
      const body = forbidden.json();
      expectErrorShape(body);
      expect(body.error.code).toBe('POWERSCHOOL_FORBIDDEN');
      expect(body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'schools.name' })]));
    } finally {
      sim.setGrantedSchoolColumns(['school_number', 'name', 'low_grade', 'high_grade']);
    }

    const gone = uniqueSchoolId();
    await api.req({
      method: 'PUT',
      url: url(gone),
      payload: settings({ powerschool: { serverUrl: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's' } }),
    });
    const unreachable = await api.req({ method: 'GET', url: url(gone, '/powerschool-schools') });
    expect(unreachable.statusCode).toBe(422);
    expect(unreachable.json().error.code).toBe('POWERSCHOOL_UNREACHABLE');
  });

  it.each([
    { schools: [100, 100], why: 'a repeated number' },
    { schools: [0], why: 'a number below 1' },
    { schools: [1.5], why: 'a fraction' },
    { schools: Array.from({ length: 51 }, (_, i) => i + 1), why: 'more than 50' },
  ])('PUT refuses $why in powerschool.schools (400)', async ({ schools }) => {
    const res = await put(uniqueSchoolId(), schools);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toMatch(/^powerschool\.schools/);
  });

  it('GET …/students takes ?status= (active, departed, unlinked) and refuses anything else', async () => {
    const id = uniqueSchoolId();
    const ok = await api.req({ method: 'GET', url: `/v1/schools/${id}/students?status=departed` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ students: [], nextCursor: null });
    const bad = await api.req({ method: 'GET', url: `/v1/schools/${id}/students?status=gone` });
    expect(bad.statusCode).toBe(400);
  });
});
