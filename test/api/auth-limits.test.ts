import { describe, expect, it, vi } from 'vitest';
import { AuthFailureCounter } from '../../api/plugins/app/auth.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { AUTH, expectErrorShape, startTestApi, type TestApi } from './support.js';

const BAD = { authorization: 'Bearer not-the-right-token-0123456789abcdef' };
const MAX = 5;

async function withApi(
  env: Record<string, string>,
  rateLimit: { max: number; timeWindowMs: number } | false,
  fn: (api: TestApi) => Promise<void>,
) {
  const api = await startTestApi({ env, deps: { rateLimit } });
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

const runs = (id = 'x') => `/v1/schools/${id}/runs`;

/** The JSON log lines with this message. */
function logLines(api: TestApi, msg: RegExp): Array<Record<string, unknown>> {
  return api.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => msg.test(String(l.msg)));
}

describe('failed authentication has its own per-address bucket (API_AUTH_FAILURES_MAX)', () => {
  it('N+1 bad-token requests: the last is 429 RATE_LIMITED; a valid token from the same address still gets 200', async () => {
    await withApi({ API_AUTH_FAILURES_MAX: String(MAX) }, { max: 1000, timeWindowMs: 60_000 }, async (api) => {
      const statuses: number[] = [];
      for (let i = 0; i <= MAX; i++)
        statuses.push((await api.app.inject({ method: 'GET', url: runs(), headers: BAD })).statusCode);
      expect(statuses).toEqual([...Array<number>(MAX).fill(401), 429]);

      const limited = await api.app.inject({ method: 'GET', url: runs(), headers: BAD });
      expect(limited.statusCode).toBe(429);
      const body = limited.json();
      expectErrorShape(body);
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Missing and malformed headers are failures too.
      expect((await api.app.inject({ method: 'GET', url: runs() })).statusCode).toBe(429);

      // Valid-token traffic from the same address is limited only by the general limit.
      const ok = await api.app.inject({ method: 'GET', url: runs(uniqueSchoolId()), headers: AUTH });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('1000');
    });
  });

  it('unknown /v1 paths are counted and answered 429 too', async () => {
    await withApi({ API_AUTH_FAILURES_MAX: String(MAX) }, false, async (api) => {
      const statuses: number[] = [];
      for (let i = 0; i <= MAX; i++)
        statuses.push((await api.app.inject({ method: 'GET', url: '/v1/nope', headers: BAD })).statusCode);
      expect(statuses).toEqual([...Array<number>(MAX).fill(401), 429]);
      // One bucket per address, whichever path the failures went to.
      expect((await api.app.inject({ method: 'GET', url: runs(), headers: BAD })).statusCode).toBe(429);
      expect((await api.app.inject({ method: 'GET', url: '/v1/nope', headers: AUTH })).statusCode).toBe(404);
      expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    });
  });

  it('failed authentications do not use up the general limit, and valid ones do not fill the failure bucket', async () => {
    await withApi({ API_AUTH_FAILURES_MAX: String(MAX) }, { max: 3, timeWindowMs: 60_000 }, async (api) => {
      for (let i = 0; i < MAX; i++)
        expect((await api.app.inject({ method: 'GET', url: runs(), headers: BAD })).statusCode).toBe(401);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await api.app.inject({ method: 'GET', url: runs(), headers: AUTH })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
      // The failure bucket still has room for nothing more than it had: the next failure is its 6th.
      expect((await api.app.inject({ method: 'GET', url: runs(), headers: BAD })).statusCode).toBe(429);
    });
  });

  it('the bucket is per address: another address still gets 401, not 429', async () => {
    await withApi({ API_AUTH_FAILURES_MAX: String(MAX) }, false, async (api) => {
      for (let i = 0; i <= MAX; i++)
        await api.app.inject({ method: 'GET', url: runs(), headers: BAD, remoteAddress: '203.0.113.7' });
      expect(
        (await api.app.inject({ method: 'GET', url: runs(), headers: BAD, remoteAddress: '203.0.113.7' })).statusCode,
      ).toBe(429);
      expect(
        (await api.app.inject({ method: 'GET', url: runs(), headers: BAD, remoteAddress: '203.0.113.8' })).statusCode,
      ).toBe(401);
    });
  });

  it('after the window passes, a failing request is a 401 again', async () => {
    await withApi(
      { API_AUTH_FAILURES_MAX: '1', API_RATE_LIMIT_WINDOW_MS: '1000' },
      { max: 1000, timeWindowMs: 1000 },
      async (api) => {
        const bad = () => api.app.inject({ method: 'GET', url: runs(), headers: BAD });
        expect((await bad()).statusCode).toBe(401);
        expect((await bad()).statusCode).toBe(429);
        // Every poll is itself a failure; only a new window answers 401.
        await vi.waitFor(async () => expect((await bad()).statusCode).toBe(401), { timeout: 5_000, interval: 100 });
      },
    );
  });

  it('failed-auth warnings are aggregated per address and window, and never carry the token', async () => {
    await withApi({ API_AUTH_FAILURES_MAX: String(MAX) }, false, async (api) => {
      for (let i = 0; i < MAX * 4; i++) await api.app.inject({ method: 'GET', url: runs(), headers: BAD });
      const warnings = api.logs.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.level === 40);
      expect(warnings).toHaveLength(2);
      expect(logLines(api, /^authentication failed/)).toEqual([
        expect.objectContaining({ address: '127.0.0.1', reason: 'invalid' }),
      ]);
      expect(logLines(api, /^too many failed authentications/)).toEqual([
        expect.objectContaining({ address: '127.0.0.1', failures: MAX }),
      ]);
      expect(api.logs.text()).not.toContain(BAD.authorization.slice(7));
    });
  });
});

describe('AuthFailureCounter', () => {
  it('counts per address in fixed windows and forgets the least recently failing address first', () => {
    let now = 0;
    const counter = new AuthFailureCounter(1_000, 3, () => now);
    expect(counter.record('a').count).toBe(1);
    expect(counter.record('a').count).toBe(2);
    now = 999;
    expect(counter.record('a')).toEqual({ count: 3, resetAt: 1_000 });
    now = 1_000;
    expect(counter.record('a')).toEqual({ count: 1, resetAt: 2_000 });
    counter.record('b');
    counter.record('c');
    counter.record('a'); // a is now the most recent
    counter.record('d'); // evicts b
    expect(counter.size).toBe(3);
    expect(counter.record('b').count).toBe(1);
    expect(counter.record('a').count).toBe(3);
  });
});
