import { describe, expect, it } from 'vitest';
import type { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../activities/failures.js';
import { parseRetryAfterMs, deniedFields, errorForStatus } from '../../powerschool/classify.js';
import { PowerSchoolError } from '../../powerschool/errors.js';
import { dcidOf, clientFor, simulator } from './helpers.js';

const scope = { gradeFrom: 9, gradeTo: 12 };

describe('keyset paging (fetchStudentsAfter)', () => {
  it('reads everyone exactly once even when students are removed and added behind the cursor', async () => {
    const sim = await simulator({ students: 300 });
    const client = clientFor(sim);
    const before = sim.students.inScope(9, 12);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const rows = await client.fetchStudentsAfter(scope, after, 10);
      if (rows.length === 0) break;
      seen.push(...rows.map(dcidOf));
      after = dcidOf(rows.at(-1));
      if (seen.length === 10) {
        sim.students.remove(before[0]!.dcid); // behind the cursor
        sim.students.add({ dcid: before[0]!.dcid, grade_level: 9, enroll_status: 0 }); // re-added behind it
      }
    }
    expect(seen).toEqual(before.map((s) => String(s.dcid)));
    await expect(client.fetchStudentsAfter(scope, '1;grade_level==1', 10)).rejects.toThrow(RangeError);
  });
});

describe('checkConnection', () => {
  it('always makes a real token request, then counts', async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    await client.countStudents(scope);
    const result = await client.checkConnection(scope);
    expect(result).toEqual({ studentsInScope: sim.students.inScope(9, 12).length });
    expect(sim.stats().tokenRequests).toBe(2);
  });
});

describe('cancellation', () => {
  it('an AbortSignal ends a hanging request and a retry wait with its reason', async () => {
    const sim = await simulator({ faults: { next: ['timeout'] } });
    const controller = new AbortController();
    const client = clientFor(sim, { signal: controller.signal, timeoutMs: 10_000 });
    const pending = client.countStudents(scope);
    setTimeout(() => controller.abort(new Error('activity cancelled')), 50);
    await expect(pending).rejects.toThrow('activity cancelled');

    sim.setFaults({ next: ['rate-limit'], retryAfterSeconds: 30 });
    const second = new AbortController();
    const waiting = clientFor(sim, { signal: second.signal, maxRetryDelayMs: 30_000 }).countStudents(scope);
    setTimeout(() => second.abort(new Error('cancelled while waiting')), 50);
    await expect(waiting).rejects.toThrow('cancelled while waiting');
  });
});

describe('response classification helpers', () => {
  it('Retry-After as seconds, as an HTTP date, or from the body', () => {
    const at = (headers: Record<string, string>, body = '') =>
      parseRetryAfterMs({ headers, body }, Date.parse('2026-01-01T00:00:00Z'));
    expect(at({ 'retry-after': '5' })).toBe(5000);
    expect(at({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' })).toBe(10_000);
    expect(at({}, '{"message":"Rate limit exceeded. Try again in 12 seconds."}')).toBe(12_000);
    expect(at({}, '{"retry_after": 3}')).toBe(3000);
    expect(at({}, 'Too many requests')).toBeUndefined();
    // Never longer than 15 minutes, however long the server asks for.
    expect(at({ 'retry-after': '3600' })).toBe(15 * 60_000);
    expect(at({ 'retry-after': 'Thu, 01 Jan 2026 02:00:00 GMT' })).toBe(15 * 60_000);
    expect(at({}, '{"retry_after": 86400}')).toBe(15 * 60_000);
  });

  it('a 503 carries the Retry-After header, not a number of seconds found in its body', () => {
    const res = (headers: Record<string, string>, body: string) => ({ status: 503, headers, body });
    expect(errorForStatus(res({ 'retry-after': '120' }, ''), 'GET /x')).toMatchObject({
      code: 'POWERSCHOOL_UNAVAILABLE',
      retryable: true,
      retryAfterMs: 120_000,
    });
    expect(errorForStatus(res({}, 'upstream timed out after 30 seconds'), 'GET /x').retryAfterMs).toBeUndefined();
    expect(
      errorForStatus({ ...res({ 'retry-after': '120' }, ''), status: 500 }, 'GET /x').retryAfterMs,
    ).toBeUndefined();
  });

  it('the activity failure asks Temporal to wait what the server asked, at most 15 minutes', () => {
    const failure = (retryAfterMs: number) =>
      toActivityFailure(
        new PowerSchoolError('POWERSCHOOL_RATE_LIMITED', 'rate limited', { retryable: true, retryAfterMs }),
      ) as ApplicationFailure;
    expect(failure(7_000)).toMatchObject({
      type: 'POWERSCHOOL_RATE_LIMITED',
      nonRetryable: false,
      nextRetryDelay: 7_000,
    });
    expect(failure(2 * 3600_000).nextRetryDelay).toBe(15 * 60_000);
  });

  it('finds denied fields in 403 and 400 bodies', () => {
    expect(
      deniedFields({
        message: 'Validation Failed',
        errors: [
          { resource: 'students', field: 'students.dob', code: 'No access to the field' },
          { resource: 'students', field: 'STUDENTS.GENDER', code: 'No access to the field' },
        ],
      }),
    ).toEqual(['students.dob', 'students.gender']);
    expect(deniedFields({ message: 'Validation Failed', errors: [{ field: 'x', code: 'Invalid field' }] })).toBeNull();
    expect(deniedFields('nope')).toBeNull();
  });
});
