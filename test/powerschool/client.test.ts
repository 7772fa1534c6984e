import { describe, expect, it } from 'vitest';
import { PowerSchoolError } from '../../powerschool/client.js';
import { normaliseStudent } from '../../powerschool/records.js';
import { clientFor, dcidOf, readAll, recordingLogger, simulator } from './helpers.js';

const scope = { gradeFrom: 9, gradeTo: 12 };

async function caught(promise: Promise<unknown>): Promise<PowerSchoolError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PowerSchoolError);
    return err as PowerSchoolError;
  }
  throw new Error('expected a PowerSchoolError');
}

describe('PowerSchoolClient against the simulator', () => {
  it('reads every active in-scope student once, in DCID order, page by page', async () => {
    const sim = await simulator({ students: 600, maxPageSize: 50 });
    const client = clientFor(sim);
    expect(await client.getMaxPageSize()).toBe(50);
    const expected = sim.students.inScope(9, 12).map((s) => String(s.dcid));
    expect(await client.countStudents(scope)).toBe(expected.length);

    const rows = await readAll(client, scope);
    expect(rows.map(dcidOf)).toEqual(expected);
    // Keyset pages until a short one (an empty one when the last page was full).
    const pages = Math.floor(expected.length / 50) + 1;
    // metadata (cached after the first call), count and the pages; one token for all
    expect(sim.stats()).toMatchObject({ tokenRequests: 1, dataRequests: 2 + pages });
  });

  it('asks for exactly the projection, scope filter and sort, reading on after the last DCID', async () => {
    const sim = await simulator({ students: 50 });
    const seen: string[] = [];
    const client = clientFor(sim);
    const original = sim.url;
    // Read what the client sends through the simulator's answer: the first page starts at the lowest DCID.
    const page1 = await client.fetchStudentsAfter(scope, null, 5);
    const page2 = await client.fetchStudentsAfter(scope, dcidOf(page1.at(-1)), 5);
    const inScope = sim.students.inScope(9, 12).map((s) => String(s.dcid));
    expect([...page1, ...page2].map(dcidOf)).toEqual(inScope.slice(0, 10));
    for (const row of page1) seen.push(...Object.keys(row as object));
    expect(new Set(seen)).toEqual(
      new Set([
        'dcid',
        'id',
        'student_number',
        'first_name',
        'last_name',
        'dob',
        'gender',
        'grade_level',
        'sched_yearofgraduation',
        'enroll_status',
        'schoolid',
      ]),
    );
    expect(original).toBe(sim.url);
  });

  it('handles numbers vs strings, "1234.0" student numbers and absent/null/"" values', async () => {
    const sim = await simulator({ students: 400 });
    const rows = await readAll(clientFor(sim), { gradeFrom: -2, gradeTo: 12 });
    const raw = rows as Record<string, unknown>[];
    expect(raw.some((r) => typeof r.dcid === 'number')).toBe(true);
    expect(raw.some((r) => typeof r.dcid === 'string')).toBe(true);
    expect(raw.some((r) => String(r.student_number).endsWith('.0'))).toBe(true);
    for (const row of raw) {
      const result = normaliseStudent(row);
      expect(result.ok && result.issues).toEqual([]);
      if (!result.ok) continue;
      const source = sim.students.get(Number(row.dcid))!;
      expect(result.student).toEqual({
        dcid: String(source.dcid),
        studentNumber: source.student_number,
        firstName: source.first_name,
        lastName: source.last_name,
        graduationYear: source.sched_yearofgraduation,
        dateOfBirth: source.dob,
        gender: source.gender,
        gradeLevel: source.grade_level,
        schoolNumber: source.schoolid,
      });
    }
  });

  it('never shifts a date of birth, whatever the process time zone', async () => {
    const sim = await simulator({ students: 200 });
    const rows = await readAll(clientFor(sim), scope);
    const before = process.env.TZ;
    try {
      for (const tz of ['Pacific/Kiritimati', 'America/Los_Angeles', 'UTC']) {
        process.env.TZ = tz;
        for (const row of rows) {
          const r = normaliseStudent(row);
          if (r.ok) expect(r.student.dateOfBirth).toBe(sim.students.get(Number(dcidOf(row)))!.dob);
        }
      }
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  describe('OAuth', () => {
    it('accepts expires_in as a string or a number and caches the token across clients', async () => {
      for (const expiresInAs of ['string', 'number'] as const) {
        const sim = await simulator({ expiresInAs });
        await clientFor(sim).countStudents(scope);
        await clientFor(sim).countStudents(scope);
        await clientFor(sim).getMaxPageSize();
        expect(sim.stats().tokenRequests).toBe(1);
      }
    });

    it('requests a new token shortly before the old one expires', async () => {
      const sim = await simulator({ tokenLifetimeSeconds: 1 });
      const client = clientFor(sim);
      await client.countStudents(scope);
      await new Promise((r) => setTimeout(r, 950)); // inside the safety margin of a 1 s token
      await client.countStudents(scope);
      expect(sim.stats().tokenRequests).toBe(2);
      expect(sim.stats().dataRequests).toBe(2); // no 401 round trip needed
    });

    it('re-authenticates once on a 401 from a data call and carries on', async () => {
      const sim = await simulator({ students: 500, faults: { tokenExpiresEveryRequests: 2 } });
      const rows = await readAll(clientFor(sim, { maxAttempts: 1 }), scope);
      expect(rows).toHaveLength(sim.students.inScope(9, 12).length);
      const stats = sim.stats();
      expect(stats.faults.revokedTokens).toBeGreaterThan(0);
      expect(stats.tokenRequests).toBe(stats.faults.revokedTokens + 1);
    });

    it('fails with a non-retryable AUTH_FAILED when a fresh token is refused too', async () => {
      const sim = await simulator({ faults: { next: ['unauthorized', 'unauthorized'] } });
      const err = await caught(clientFor(sim).countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_AUTH_FAILED', retryable: false });
      expect(sim.stats().tokenRequests).toBe(2);
    });

    it('wrong credentials: AUTH_FAILED, not retryable, one token request, no data request', async () => {
      const sim = await simulator();
      const client = clientFor(sim, {
        credentials: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: 'wrong' },
        maxAttempts: 5,
      });
      const err = await caught(client.countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_AUTH_FAILED', retryable: false, status: 401 });
      expect(sim.stats()).toMatchObject({ tokenRequests: 1, dataRequests: 0 });
    });

    it('a changed secret is checked again, not hidden by a cached token', async () => {
      const sim = await simulator();
      await clientFor(sim).countStudents(scope);
      const wrong = clientFor(sim, {
        credentials: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: 'changed' },
      });
      expect((await caught(wrong.countStudents(scope))).code).toBe('POWERSCHOOL_AUTH_FAILED');
    });

    it('the simulator accepts the token endpoint with a trailing slash and checks the grant type', async () => {
      const sim = await simulator();
      const basic = Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64');
      const headers = {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      };
      const res = await fetch(`${sim.url}/oauth/access_token/`, {
        method: 'POST',
        headers,
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        token_type: 'Bearer',
        access_token: expect.any(String),
        expires_in: expect.stringMatching(/^\d+$/),
      });
      const bad = await fetch(`${sim.url}/oauth/access_token`, {
        method: 'POST',
        headers,
        body: 'grant_type=password',
      });
      expect(bad.status).toBe(400);
    });

    it('never logs the secret or the token', async () => {
      const sim = await simulator({ faults: { next: ['unauthorized', 'error'] } });
      const { logger, lines } = recordingLogger();
      await clientFor(sim, { logger }).countStudents(scope);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain(sim.clientSecret);
      expect(lines.join('\n')).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/); // token values are UUIDs
    });
  });

  describe('error classes', () => {
    it('429: honours Retry-After, then succeeds', async () => {
      const sim = await simulator({ faults: { next: ['rate-limit'], retryAfterSeconds: 1 } });
      const { logger, warnings } = recordingLogger();
      expect(await clientFor(sim, { logger }).countStudents(scope)).toBeGreaterThan(0);
      expect(warnings).toEqual([
        expect.objectContaining({
          obj: expect.objectContaining({ code: 'POWERSCHOOL_RATE_LIMITED', status: 429, delayMs: 1000 }),
        }),
      ]);
    });

    it('429 after the last attempt: retryable RATE_LIMITED carrying retryAfterMs', async () => {
      const sim = await simulator({ faults: { rateLimitRate: 1, retryAfterSeconds: 7 } });
      const err = await caught(clientFor(sim, { maxAttempts: 1 }).countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_RATE_LIMITED', retryable: true, retryAfterMs: 7000, status: 429 });
    });

    it('a Retry-After longer than the in-process wait is not waited here: thrown at once, carrying it', async () => {
      const sim = await simulator({ faults: { next: ['rate-limit'], retryAfterSeconds: 3 } });
      const started = Date.now();
      const err = await caught(clientFor(sim, { maxAttempts: 3, maxRetryDelayMs: 1_000 }).countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_RATE_LIMITED', retryable: true, retryAfterMs: 3000 });
      // No second request before the server's 3 s (there is none at all: the caller retries later).
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(sim.requestLog().filter((r) => r.path.startsWith('/ws/'))).toHaveLength(1);

      // A 503 that says when to come back is treated the same way.
      sim.setFaults({ next: ['unavailable'], retryAfterSeconds: 3 });
      const unavailable = await caught(clientFor(sim, { maxAttempts: 3, maxRetryDelayMs: 1_000 }).countStudents(scope));
      expect(unavailable).toMatchObject({ code: 'POWERSCHOOL_UNAVAILABLE', status: 503, retryAfterMs: 3000 });
    });

    it('a 503 with a short Retry-After is waited in-process for exactly that long', async () => {
      const sim = await simulator({ faults: { next: ['unavailable'], retryAfterSeconds: 1 } });
      expect(await clientFor(sim, { maxRetryDelayMs: 2_000 }).countStudents(scope)).toBeGreaterThan(0);
      const [refused, retried] = sim.requestLog().filter((r) => r.path.startsWith('/ws/'));
      expect(refused!.status).toBe(503);
      expect(retried!.receivedAt - refused!.answeredAt!).toBeGreaterThanOrEqual(1_000);
    });

    it('5xx: retried with backoff, then a retryable UNAVAILABLE once attempts run out', async () => {
      const sim = await simulator({ faults: { next: ['error', 'error'] } });
      expect(await clientFor(sim, { maxAttempts: 3 }).countStudents(scope)).toBeGreaterThan(0);
      expect(sim.stats().faults.errors).toBe(2);

      sim.setFaults({ errorRate: 1 });
      const err = await caught(clientFor(sim, { maxAttempts: 2 }).countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_UNAVAILABLE', retryable: true });
      expect([500, 502, 503]).toContain(err.status);
    });

    it('a dropped connection is retried; when it persists it is a retryable UNAVAILABLE', async () => {
      const sim = await simulator({ faults: { next: ['drop'] } });
      expect(await clientFor(sim).countStudents(scope)).toBeGreaterThan(0);
      expect(sim.stats().faults.dropped).toBe(1);

      sim.setFaults({ dropRate: 1 });
      const err = await caught(clientFor(sim, { maxAttempts: 2 }).countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_UNAVAILABLE', retryable: true });
    });

    it('a page that hangs times out and is retried; every request has a deadline', async () => {
      // Every keyset request asks for page 1 (of what lies after its cursor): the first one hangs.
      const sim = await simulator({ students: 400, maxPageSize: 20, faults: { timeoutPages: [1] } });
      const rows = await readAll(clientFor(sim, { timeoutMs: 300 }), scope);
      expect(rows).toHaveLength(sim.students.inScope(9, 12).length);
      expect(sim.stats().faults.hung).toBe(1);

      sim.setFaults({ next: ['timeout'] });
      const err = await caught(clientFor(sim, { timeoutMs: 200, maxAttempts: 1 }).countStudents(scope));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_UNAVAILABLE', retryable: true });
      expect(err.message).toContain('200 ms');
    });

    it('a column without a grant: non-retryable FORBIDDEN naming the field, no retries', async () => {
      const sim = await simulator();
      sim.setGrantedColumns([
        'dcid',
        'id',
        'student_number',
        'first_name',
        'last_name',
        'grade_level',
        'sched_yearofgraduation',
        'enroll_status',
        'schoolid',
      ]);
      const before = sim.stats().dataRequests;
      const err = await caught(clientFor(sim, { maxAttempts: 5 }).fetchStudentsAfter(scope, null, 10));
      expect(err).toMatchObject({ code: 'POWERSCHOOL_FORBIDDEN', retryable: false, status: 403 });
      expect(err.fields).toEqual(['students.dob', 'students.gender']);
      expect(err.message).toContain('students.dob');
      expect(sim.stats().dataRequests - before).toBe(1);
    });

    it('refused connection and unknown host: UNREACHABLE', async () => {
      const sim = await simulator();
      const url = sim.url;
      await sim.close();
      const refused = clientFor(sim, {
        credentials: { serverUrl: url, clientId: 'a', clientSecret: 'b' },
        maxAttempts: 1,
      });
      expect(await caught(refused.countStudents(scope))).toMatchObject({
        code: 'POWERSCHOOL_UNREACHABLE',
        retryable: true,
      });
      const unknown = clientFor(sim, {
        credentials: { serverUrl: 'https://no-such-host.invalid', clientId: 'a', clientSecret: 'b' },
        allowInsecure: false,
        maxAttempts: 1,
      });
      expect(await caught(unknown.countStudents(scope))).toMatchObject({ code: 'POWERSCHOOL_UNREACHABLE' });
    });

    it('a wrong server path: NOT_FOUND, not retryable', async () => {
      const sim = await simulator();
      const client = clientFor(sim, {
        credentials: { serverUrl: `${sim.url}/nothing-here`, clientId: sim.clientId, clientSecret: sim.clientSecret },
      });
      expect(await caught(client.countStudents(scope))).toMatchObject({
        code: 'POWERSCHOOL_NOT_FOUND',
        retryable: false,
        status: 404,
      });
    });
  });
});

describe('under a storm of mixed faults', () => {
  it('still reads every in-scope student exactly once', async () => {
    const sim = await simulator({
      students: 3000,
      maxPageSize: 20,
      faultSeed: 99,
      faults: {
        errorRate: 0.15,
        rateLimitRate: 0.05,
        retryAfterSeconds: 0,
        dropRate: 0.05,
        tokenExpiresEveryRequests: 7,
      },
    });
    const client = clientFor(sim, { maxAttempts: 8, retryBaseDelayMs: 1 });
    const rows = await readAll(client, scope);
    expect(rows.map(dcidOf)).toEqual(sim.students.inScope(9, 12).map((s) => String(s.dcid)));
    const { faults } = sim.stats();
    expect(faults.errors + faults.rateLimited + faults.dropped + faults.revokedTokens).toBeGreaterThan(5);
  });
});
