import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT } from '../../api/app.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { AUTH, expectErrorShape, startTestApi, TOKEN, type TestApi } from '../api/support.js';
import { report } from './support.js';

/**
 * The HTTP fuzz gaps left by test/api/fuzz.test.ts (which injects 1,000 requests into
 * the app): here the requests go over a real socket to a listening server, and cover what that
 * file does not — the body of POST /runs (`testRun` of every wrong type, unknown keys, non-JSON),
 * the resume route, and oversized bodies (up to 1 MB over the limit, announced or chunked) on
 * every route that takes a body. Every answer is a 4xx in the contract's error shape; no 5xx;
 * the server answers /healthz afterwards.
 */
const RUNS = 150;

describe('reliability: HTTP fuzz over a real socket', () => {
  let api: TestApi;
  let base: string;
  const seen = { requests: 0, fivexx: 0, byStatus: {} as Record<number, number> };
  const school = uniqueSchoolId('sockfuzz'); // never has an integration

  beforeAll(async () => {
    api = await startTestApi();
    base = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    report('HTTP fuzz over a real socket', {
      requests: seen.requests,
      http5xx: seen.fivexx,
      statuses: JSON.stringify(seen.byStatus),
    });
    await api?.close();
  });

  async function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, {
      method,
      headers: { ...AUTH, 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.text();
    seen.requests++;
    seen.byStatus[res.status] = (seen.byStatus[res.status] ?? 0) + 1;
    if (res.status >= 500) seen.fivexx++;
    expect(res.status, `${method} ${path} → ${res.status} ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `${method} ${path} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
    expectErrorShape(JSON.parse(text));
    return res.status;
  }

  it('POST /runs bodies: wrong types, unknown keys, not JSON → 4xx (404 or 400), never 5xx', async () => {
    const notABoolean = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.array(fc.boolean(), { maxLength: 3 }),
      fc.object({ maxDepth: 1 }),
    );
    const body = fc.oneof(
      notABoolean.map((v) => JSON.stringify({ testRun: v })),
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }))
        .map(([k, v]) => JSON.stringify({ testRun: true, [`x${k}`]: v })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        await send('POST', `/v1/schools/${school}/runs`, b);
      }),
      { numRuns: RUNS, seed: 8 },
    );
  });

  it('the resume route with malformed school ids → 4xx', async () => {
    const badId = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 80 })
      .filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s));
    await fc.assert(
      fc.asyncProperty(badId, async (id) => {
        await send('POST', `/v1/schools/${encodeURIComponent(id)}/integration/resume`);
      }),
      { numRuns: 50, seed: 8 },
    );
  });

  it('oversized bodies on every route that takes one → 413 PAYLOAD_TOO_LARGE; the server stays up', async () => {
    const routes: Array<[string, string]> = [
      ['PUT', `/v1/schools/${school}/integration`],
      ['POST', `/v1/schools/${school}/runs`],
      ['POST', `/v1/schools/${school}/integration/pause`],
      ['POST', `/v1/schools/${school}/integration/resume`],
      ['POST', `/v1/schools/${school}/integration/test-connection`],
    ];
    let refused = 0;
    for (const [method, path] of routes) {
      for (const size of [DEFAULT_BODY_LIMIT + 1, DEFAULT_BODY_LIMIT * 4, 1024 * 1024]) {
        const body = `{"pad":"${'x'.repeat(size - 10)}"}`; // exactly `size` bytes
        expect(Buffer.byteLength(body)).toBe(size);
        const status = await send(method, path, body);
        expect(status, `${method} ${path} ${size}`).toBe(413);
        refused++;
      }
      // Chunked (no content-length up front): refused while streaming.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(16 * 1024)));
          controller.close();
        },
      });
      const res = await fetch(base + path, {
        method,
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      seen.requests++;
      seen.byStatus[res.status] = (seen.byStatus[res.status] ?? 0) + 1;
      expect(res.status).toBe(413);
      expectErrorShape(await res.json());
      refused++;
    }
    expect(refused).toBe(routes.length * 4);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(seen.fivexx).toBe(0);
  });

  it('the API log of all that holds no bearer token', () => {
    // Every request above was answered and logged: 150 bodies, 50 ids, 5 routes × 4 oversized bodies.
    expect(seen.requests).toBe(RUNS + 50 + 5 * 4);
    expect(api.logs.lines.length).toBeGreaterThanOrEqual(seen.requests);
    expect(api.logs.text()).not.toContain(TOKEN);
    report('HTTP fuzz: API log scan', { logLines: api.logs.lines.length, tokenFound: false });
  });
});
