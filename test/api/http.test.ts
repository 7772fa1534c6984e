import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, DEFAULT_BODY_LIMIT } from '../../api/app.js';
import { createLogger } from '../../logging/logger.js';
import { createTokenVerifier } from '../../api/plugins/app/auth.js';
import { createDb } from '../../db/connection.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { AUTH, expectErrorShape, SECOND_TOKEN, settings, startTestApi, type TestApi } from './support.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

interface OpenApiDoc {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

async function openapi(): Promise<OpenApiDoc> {
  const res = await api.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** Every /v1 operation of the OpenAPI document, with its path parameters filled in. */
async function v1Operations(): Promise<Array<{ method: string; url: string }>> {
  const doc = await openapi();
  const ops: Array<{ method: string; url: string }> = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1')) continue;
    for (const method of Object.keys(methods)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        url: path.replace('{schoolId}', 'school-1').replace('{runId}', 'run-1'),
      });
    }
  }
  return ops;
}

describe('auth', () => {
  it('401 UNAUTHORIZED on every /v1 operation in the OpenAPI document, for every kind of bad token', async () => {
    const ops = await v1Operations();
    // The contract's routes: if this number changes, a route was added or lost.
    expect(ops.length).toBe(19);
    const bad: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer wrong-token-123' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: `Bearer ${AUTH.authorization.slice(7)}x` },
      { authorization: `Bearer ${AUTH.authorization.slice(7, -1)}` },
    ];
    for (const op of ops) {
      for (const headers of bad) {
        const res = await api.app.inject({
          method: op.method as 'GET',
          url: op.url,
          headers,
          payload: op.method === 'PUT' ? settings() : undefined,
        });
        expect(res.statusCode, `${op.method} ${op.url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json().error.code).toBe('UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
  });

  it('every /v1 operation declares bearer security in the OpenAPI document', async () => {
    const doc = await openapi();
    expect(doc.components?.securitySchemes).toHaveProperty('bearerAuth');
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1')) continue;
      for (const [method, op] of Object.entries(methods))
        expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
    }
  });

  it('accepts every configured token (case-insensitive scheme) and refuses before validating the body', async () => {
    const id = uniqueSchoolId();
    for (const authorization of [AUTH.authorization, `bearer ${SECOND_TOKEN}`]) {
      const res = await api.app.inject({ method: 'GET', url: `/v1/schools/${id}/runs`, headers: { authorization } });
      expect(res.statusCode).toBe(200);
    }
    const res = await api.app.inject({
      method: 'PUT',
      url: `/v1/schools/${id}/integration`,
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('unknown /v1 routes need auth too (401 before 404)', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/v1/nope' })).statusCode).toBe(401);
    expect((await api.req({ method: 'GET', url: '/v1/nope' })).statusCode).toBe(404);
  });

  it('logs failed authentication without the token', async () => {
    const marker = 'Bearer leaked-token-should-not-appear-77';
    await api.app.inject({ method: 'GET', url: '/v1/schools/x/runs', headers: { authorization: marker } });
    expect(api.logs.text()).toMatch(/authentication failed/);
    expect(api.logs.text()).not.toContain('leaked-token-should-not-appear-77');
    expect(api.logs.text()).not.toContain(AUTH.authorization.slice(7));
  });

  // That it compares every token, with no early exit, is checked in test/reliability/security.e2e.test.ts.
  it('the verifier accepts every configured token and rejects lookalikes and malformed headers', () => {
    const verify = createTokenVerifier(['aaaaaaaa', 'bbbbbbbb']);
    expect(verify('Bearer aaaaaaaa')).toBe('ok');
    expect(verify('Bearer bbbbbbbb')).toBe('ok');
    expect(verify('Bearer aaaaaaa')).toBe('invalid');
    expect(verify('Bearer aaaaaaaa ')).toBe('malformed');
    expect(verify('Token aaaaaaaa')).toBe('malformed');
    expect(verify(undefined)).toBe('missing');
  });
});

describe('errors in the contract shape, including Fastify’s own', () => {
  const id = 'school-errors';
  const cases: Array<[string, Parameters<TestApi['req']>[0], number, string]> = [
    [
      'bad JSON',
      {
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload: '{"grades": ',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'JSON that is not an object',
      {
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload: '[1,2]',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'proto poisoning',
      {
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload: '{"__proto__": {"x": 1}}',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'wrong media type',
      {
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload: 'a=b',
        headers: { 'content-type': 'text/plain' },
      },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'body too large',
      {
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload: JSON.stringify({ x: 'a'.repeat(70_000) }),
        headers: { 'content-type': 'application/json' },
      },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['unknown route', { method: 'GET', url: '/v1/schools/x/nothing-here' }, 404, 'NOT_FOUND'],
    ['unknown top-level route', { method: 'GET', url: '/nothing' }, 404, 'NOT_FOUND'],
    ['wrong method', { method: 'PATCH', url: `/v1/schools/${id}/integration` }, 405, 'METHOD_NOT_ALLOWED'],
    ['wrong method on runs', { method: 'DELETE', url: `/v1/schools/${id}/runs` }, 405, 'METHOD_NOT_ALLOWED'],
    ['malformed percent-encoding', { method: 'GET', url: '/v1/schools/%E0%A4%A/runs' }, 400, 'VALIDATION_FAILED'],
    ['limit 0', { method: 'GET', url: `/v1/schools/${id}/runs?limit=0` }, 400, 'VALIDATION_FAILED'],
    ['limit 101', { method: 'GET', url: `/v1/schools/${id}/students?limit=101` }, 400, 'VALIDATION_FAILED'],
    ['limit not a number', { method: 'GET', url: `/v1/schools/${id}/students?limit=ten` }, 400, 'VALIDATION_FAILED'],
    ['limit twice', { method: 'GET', url: `/v1/schools/${id}/students?limit=1&limit=2` }, 400, 'VALIDATION_FAILED'],
    ['garbage cursor', { method: 'GET', url: `/v1/schools/${id}/runs?cursor=abc` }, 400, 'VALIDATION_FAILED'],
    [
      'cursor of another list',
      { method: 'GET', url: `/v1/schools/${id}/runs?cursor=${Buffer.from('["students","12"]').toString('base64url')}` },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'bad change type',
      { method: 'GET', url: `/v1/schools/${id}/runs/r1/changes?type=delete` },
      400,
      'VALIDATION_FAILED',
    ],
    ['run not found', { method: 'GET', url: `/v1/schools/${id}/runs/nope` }, 404, 'NOT_FOUND'],
    ['changes of an unknown run', { method: 'GET', url: `/v1/schools/${id}/runs/nope/changes` }, 404, 'NOT_FOUND'],
    ['issues of an unknown run', { method: 'GET', url: `/v1/schools/${id}/runs/nope/issues` }, 404, 'NOT_FOUND'],
  ];
  it.each(cases)('%s', async (_name, request, status, code) => {
    const res = await api.req(request);
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expectErrorShape(body);
    expect(body.error.code).toBe(code);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('405 names the allowed methods', async () => {
    const res = await api.req({ method: 'PATCH', url: '/v1/schools/x/integration' });
    expect(res.headers.allow).toBe('DELETE, GET, HEAD, PUT');
  });

  it('validation details name the path', async () => {
    const res = await api.req({ method: 'GET', url: '/v1/schools/x/runs?limit=500' });
    expect(res.json().error.details).toEqual([{ path: 'limit', message: expect.any(String) }]);
  });

  it('500 INTERNAL carries no internals', async () => {
    // A database that fails every query: the error handler must not leak its message.
    const deadDb = createDb('postgres://nobody:secret-pw@127.0.0.1:1/none');
    const app = await buildApp({
      config: api.config,
      db: deadDb,
      temporalClient: api.client,
      rateLimit: false,
      logger: createLogger({ logLevel: 'silent' }),
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/v1/schools/x/runs', headers: AUTH });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
      expect(res.body).not.toMatch(/ECONNREFUSED|secret-pw|127\.0\.0\.1/);
    } finally {
      await app.close();
      await deadDb.destroy();
    }
  });
});

describe('service routes and HTTP hygiene', () => {
  it('/healthz, /readyz, /docs and /openapi.json need no auth', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    const ready = await api.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ok: true, checks: { database: 'ok', temporal: 'ok' } });
    const docs = await api.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(docs.statusCode);
    const doc = await openapi();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/v1/schools/{schoolId}/integration',
        '/v1/schools/{schoolId}/students',
      ]),
    );
  });

  it('sets security headers (helmet) and echoes a request id', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'req-123' } });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(res.headers['x-request-id']).toBe('req-123');
    // Errors from hooks (here a 401) carry them too.
    const unauthorized = await api.app.inject({ method: 'GET', url: '/v1/schools/x/runs' });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['x-content-type-options']).toBe('nosniff');
    expect(unauthorized.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    // The Swagger UI (the only HTML) gets helmet's full set, with the CSP it needs to run.
    const docs = await api.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    expect(docs.headers['strict-transport-security']).toBeDefined();
    expect(docs.headers['x-frame-options']).toBeDefined();
    const generated = await api.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rate-limits /v1 with 429 RATE_LIMITED in the error shape, not the service routes', async () => {
    const limited = await startTestApi({ deps: { rateLimit: { max: 3, timeWindowMs: 60_000 } } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await limited.req({ method: 'GET', url: '/v1/schools/x/runs' })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const res = await limited.req({ method: 'GET', url: '/v1/schools/x/runs' });
      expect(res.json().error.code).toBe('RATE_LIMITED');
      expect(res.headers['retry-after']).toBeDefined();
      expect((await limited.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('a PUT body of exactly the limit is accepted, one byte more is 413 PAYLOAD_TOO_LARGE; the app stays up', async () => {
    const id = uniqueSchoolId();
    const json = JSON.stringify(settings());
    // JSON allows trailing whitespace: pad a valid body to the exact size.
    const sized = (bytes: number) => json + ' '.repeat(bytes - Buffer.byteLength(json));
    const put = (payload: string) =>
      api.req({
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload,
        headers: { 'content-type': 'application/json' },
      });
    const atLimit = sized(DEFAULT_BODY_LIMIT);
    expect(Buffer.byteLength(atLimit)).toBe(64 * 1024);
    expect((await put(atLimit)).statusCode).toBe(201);

    const over = await put(sized(DEFAULT_BODY_LIMIT + 1));
    expect(over.statusCode).toBe(413);
    expectErrorShape(over.json());
    expect(over.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await put(`{"x":"${'a'.repeat(2_000_000)}"}`)).statusCode).toBe(413);

    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await api.req({ method: 'GET', url: `/v1/schools/${id}/integration` })).statusCode).toBe(200);
  });
});
