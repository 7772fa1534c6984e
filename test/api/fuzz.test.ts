import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHOOL_ID_PATTERN } from '../../api/schemas.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { AUTH, expectErrorShape, settings, startTestApi, type TestApi } from './support.js';

/**
 * 1,000 generated malformed requests (bodies, params, queries, methods, headers): every one must
 * get a 4xx in the contract's error shape, none a 5xx, and the app must still serve afterwards.
 */

const RUNS_PER_PROPERTY = 250; // × 4 properties = 1,000 requests
let api: TestApi;
const seen = { requests: 0, fivexx: 0, byStatus: new Map<number, number>() };

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  console.log(
    `[fuzz] ${seen.requests} malformed requests, ${seen.fivexx} 5xx; statuses ${JSON.stringify(Object.fromEntries(seen.byStatus))}`,
  );
  await api?.close();
});

async function check(request: InjectOptions): Promise<boolean> {
  const res = await api.app.inject({ ...request, headers: { ...AUTH, ...(request.headers ?? {}) } });
  seen.requests++;
  seen.byStatus.set(res.statusCode, (seen.byStatus.get(res.statusCode) ?? 0) + 1);
  if (res.statusCode >= 500) seen.fivexx++;
  if (res.statusCode < 400 || res.statusCode >= 500) {
    throw new Error(`${request.method} ${request.url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
  }
  expectErrorShape(JSON.parse(res.body));
  return true;
}

// A school that never has an integration: any request that slips through validation is a 404, never a 2xx.
const school = uniqueSchoolId('fuzz');

const invalidSchoolId = fc
  .oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constant('a'.repeat(65)))
  .filter((s) => !SCHOOL_ID_PATTERN.test(s));

const anyJson = fc.jsonValue({ maxDepth: 4 });
const notABoolean = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 }));
const notAGrade = fc.oneof(
  fc.integer().filter((n) => n < -2 || n > 12),
  fc.double({ noInteger: true }),
  fc.string(),
  fc.constant(null),
);
const notAnEmail = fc.string({ maxLength: 30 }).filter((s) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s));

/** One guaranteed-invalid edit of a valid body. */
const bodyMutation: fc.Arbitrary<(b: Record<string, unknown>) => void> = fc.oneof(
  fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), anyJson).map(([k, v]) => (b: Record<string, unknown>) => {
    b[`x_${k}`] = v;
  }),
  fc.constantFrom('grades', 'powerschool').map((k) => (b: Record<string, unknown>) => {
    delete b[k];
  }),
  notAGrade.map((v) => (b: Record<string, unknown>) => {
    b.grades = { from: v, to: 12 };
  }),
  fc.integer({ min: -2, max: 11 }).map((from) => (b: Record<string, unknown>) => {
    b.grades = { from: from + 1, to: from };
  }),
  notABoolean.map((v) => (b: Record<string, unknown>) => {
    b.active = v;
  }),
  notABoolean.map((v) => (b: Record<string, unknown>) => {
    b.testRun = v;
  }),
  fc
    .oneof(
      fc.string().filter((v) => !/https:/i.test(v)),
      fc.webUrl().map((u) => `${u}/path?q=1`),
      fc.constantFrom('http://10.0.0.1', 'https://127.0.0.1', 'https://[::1]', 'https://a.b/c', 'https://u:p@a.b'),
    )
    .map((serverUrl) => (b: Record<string, unknown>) => {
      b.powerschool = { serverUrl, clientId: 'c', clientSecret: 's' };
    }),
  fc.array(notAnEmail, { minLength: 1, maxLength: 3 }).map((r) => (b: Record<string, unknown>) => {
    b.notifications = { enabled: true, recipients: r };
  }),
  fc.string({ maxLength: 20 }).map((cron) => (b: Record<string, unknown>) => {
    b.schedule = { cron: `${cron} * * * * * *`, timezone: 'UTC' };
  }),
  // Only strings with a character no IANA name has: a random short string could otherwise be "GB".
  fc
    .string({ maxLength: 20 })
    .filter((tz) => tz === '' || /[^A-Za-z0-9_+/-]/.test(tz))
    .map((tz) => (b: Record<string, unknown>) => {
      b.schedule = { cron: '0 2 * * 0', timezone: tz };
    }),
  fc
    .string({ maxLength: 8 })
    .filter((m) => m !== 'DCID' && m !== 'STUDENT_NUMBER')
    .map((m) => (b: Record<string, unknown>) => {
      b.mapping = { powerschoolId: m };
    }),
);

describe('fuzzing with fast-check', () => {
  it('malformed integration bodies → 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          {
            weight: 3,
            arbitrary: fc.array(bodyMutation, { minLength: 1, maxLength: 3 }).map((ms) => {
              const b = settings();
              for (const m of ms) m(b);
              return { payload: JSON.stringify(b), type: 'application/json' };
            }),
          },
          { weight: 1, arbitrary: anyJson.map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })) },
          {
            weight: 1,
            arbitrary: fc.string({ maxLength: 200 }).map((s) => ({ payload: s, type: 'application/json' })),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(
                fc.constantFrom(
                  'text/plain',
                  'application/xml',
                  'multipart/form-data',
                  'application/x-www-form-urlencoded',
                  'image/png',
                ),
                fc.string(),
              )
              .map(([type, s]) => ({ payload: s, type })),
          },
          {
            weight: 1,
            arbitrary: fc
              .integer({ min: 65 * 1024, max: 200 * 1024 })
              .map((n) => ({ payload: `{"x":"${'a'.repeat(n)}"}`, type: 'application/json' })),
          },
        ),
        async ({ payload, type }) =>
          check({
            method: 'PUT',
            url: `/v1/schools/${school}/integration`,
            payload,
            headers: { 'content-type': type },
          }),
      ),
      { numRuns: RUNS_PER_PROPERTY },
    );
  });

  it('malformed path params → 4xx', async () => {
    const templates = [
      (s: string) => ['GET', `/v1/schools/${s}/integration`],
      (s: string) => ['DELETE', `/v1/schools/${s}/integration`],
      (s: string) => ['POST', `/v1/schools/${s}/integration/pause`],
      (s: string) => ['POST', `/v1/schools/${s}/integration/test-connection`],
      (s: string) => ['POST', `/v1/schools/${s}/runs`],
      (s: string) => ['GET', `/v1/schools/${s}/runs`],
      (s: string) => ['GET', `/v1/schools/${s}/students`],
      (s: string) => ['GET', `/v1/schools/${school}/runs/${s}`],
      (s: string) => ['GET', `/v1/schools/${school}/runs/${s}/changes`],
      (s: string) => ['GET', `/v1/schools/${school}/runs/${s}/issues`],
    ] as const;
    // School ids are always invalid (a valid one would list an empty page: a 200); run ids may be
    // anything, since a well-formed one is simply unknown: a 404.
    const request = fc.oneof(
      fc.tuple(fc.nat({ max: 6 }), invalidSchoolId),
      fc.tuple(fc.integer({ min: 7, max: templates.length - 1 }), fc.string({ maxLength: 300 })),
    );
    await fc.assert(
      fc.asyncProperty(request, async ([i, value]) => {
        const [method, url] = templates[i]!(encodeURIComponent(value));
        return check({ method, url });
      }),
      { numRuns: RUNS_PER_PROPERTY },
    );
  });

  it('malformed queries → 4xx', async () => {
    const lists = [
      `/v1/schools/${school}/runs`,
      `/v1/schools/${school}/students`,
      `/v1/schools/${school}/runs/r1/changes`,
      `/v1/schools/${school}/runs/r1/issues`,
    ];
    const badLimit = fc.oneof(
      fc
        .integer()
        .filter((n) => n < 1 || n > 100)
        .map(String),
      fc.string({ maxLength: 10 }).filter((s) => !/^\d{1,3}$/.test(s) || Number(s) < 1 || Number(s) > 100),
      fc.double({ noInteger: true }).map(String),
    );
    const badCursor = fc.oneof(
      fc.string({ minLength: 1, maxLength: 100 }),
      anyJson.map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(JSON.stringify(['runs', s, s])).toString('base64url')),
    );
    const forced = fc.oneof(
      badLimit.map((v) => ['limit', v] as const),
      badCursor.map((v) => ['cursor', v] as const),
      fc.string({ maxLength: 10 }).map((v) => ['type', `x${v}`] as const),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: lists.length - 1 }),
        fc.record({ limit: badLimit, cursor: badCursor }, { requiredKeys: [] }),
        forced,
        async (i, extra, [key, value]) => {
          // At least one parameter is malformed: the forced one (`type` only counts on the changes list).
          const query: Record<string, string> = { ...extra, [key]: value };
          if (key === 'type' && i !== 2) query.limit = '0';
          return check({ method: 'GET', url: lists[i]!, query });
        },
      ),
      { numRuns: RUNS_PER_PROPERTY },
    );
  });

  it('wrong methods, unknown routes and bad credentials → 4xx', async () => {
    const paths = [
      `/v1/schools/${school}/integration`,
      `/v1/schools/${school}/integration/pause`,
      `/v1/schools/${school}/runs`,
      `/v1/schools/${school}/runs/r1`,
      `/v1/schools/${school}/students`,
      '/v1',
      '/v2/schools',
      '/healthz',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .tuple(fc.constantFrom('PATCH', 'OPTIONS', 'PUT', 'DELETE', 'POST'), fc.constantFrom(...paths))
            .filter(
              ([m, p]) =>
                !(m === 'PUT' && p.endsWith('/integration')) &&
                !(m === 'DELETE' && p.endsWith('/integration')) &&
                !(m === 'POST' && (p.endsWith('/pause') || p.endsWith('/runs'))),
            )
            .map(([method, url]) => ({ method, url, headers: {} as Record<string, string> })),
          fc.string({ maxLength: 40 }).map((s) => ({
            method: 'GET',
            url: `/v1/${encodeURIComponent(s)}/x/y/z`,
            headers: {} as Record<string, string>,
          })),
          fc
            .string({ maxLength: 60 })
            .filter((s) => /^[\x20-\x7e]*$/.test(s))
            .map((s) => ({
              method: 'GET',
              url: `/v1/schools/${school}/runs`,
              headers: { authorization: s } as Record<string, string>,
            })),
        ),
        async ({ method, url, headers }) =>
          check({ method: method as 'GET', url, headers, payload: method === 'PUT' ? '{}' : undefined }),
      ),
      { numRuns: RUNS_PER_PROPERTY },
    );
  });

  it('after all that: no 5xx, and the app still serves', async () => {
    expect(seen.requests).toBeGreaterThanOrEqual(4 * RUNS_PER_PROPERTY);
    expect(seen.fivexx).toBe(0);
    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ok = await api.req({
      method: 'PUT',
      url: `/v1/schools/${uniqueSchoolId('after-fuzz')}/integration`,
      payload: settings(),
    });
    expect(ok.statusCode).toBe(201);
  });
});
