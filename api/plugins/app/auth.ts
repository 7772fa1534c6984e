// Bearer-token authentication of /v1: constant-time token checks, the failed-authentication bucket and the guard hook.
import { createHash, timingSafeEqual } from 'node:crypto';
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../../errors.js';

export type TokenVerifier = (header: string | undefined) => 'ok' | 'missing' | 'malformed' | 'invalid';

/**
 * Bearer tokens compared in constant time: each candidate is hashed to a fixed length first (so
 * neither the length nor the content of a configured token leaks through timing), and every
 * configured token is compared, match or not.
 */
export function createTokenVerifier(tokens: string[]): TokenVerifier {
  const digest = (t: string) => createHash('sha256').update(t, 'utf8').digest();
  const known = tokens.map(digest);
  return (header) => {
    if (header === undefined || header === '') return 'missing';
    const m = /^Bearer ([\x21-\x7e]{1,1024})$/i.exec(header);
    if (!m) return 'malformed';
    const candidate = digest(m[1]!);
    let match = false;
    for (const k of known) match = timingSafeEqual(candidate, k) || match;
    return match ? 'ok' : 'invalid';
  };
}

export const unauthorized = () =>
  new ApiError(401, 'UNAUTHORIZED', 'A valid bearer token is required', undefined, {
    'www-authenticate': 'Bearer realm="powerschool-sync"',
  });

/** Addresses remembered at once; beyond it the least recently failing address is forgotten. */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Failed authentications per client address in fixed windows, a bucket of its own: a client
 * deployed with a bad token exhausts only this, never the general limit its valid-token traffic
 * lives on. Bounded (least recently failing address evicted first) so a flood of addresses cannot
 * grow it without limit.
 */
export class AuthFailureCounter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  constructor(
    private readonly timeWindowMs: number,
    private readonly maxAddresses = MAX_TRACKED_ADDRESSES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one failure; returns the failures of this address in its current window. */
  record(address: string): { count: number; resetAt: number } {
    const now = this.now();
    let window = this.windows.get(address);
    if (!window || window.resetAt <= now) window = { count: 0, resetAt: now + this.timeWindowMs };
    window.count++;
    this.windows.delete(address); // re-inserted last: Map order is the eviction order
    this.windows.set(address, window);
    if (this.windows.size > this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
    return window;
  }

  get size(): number {
    return this.windows.size;
  }
}

export interface AuthGuardOptions {
  verify: TokenVerifier;
  /** API_AUTH_FAILURES_MAX and the window it counts in. */
  failures: { max: number; timeWindowMs: number };
  /** The general per-address limit, applied to requests with a valid token only. */
  generalLimit?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/**
 * The /v1 gate: a valid token passes on to the general rate limit; anything else is counted in
 * the address's failure bucket and answered 401, or 429 RATE_LIMITED once the bucket is past
 * `failures.max` for the rest of its window. Logs never carry the token, and are aggregated: one
 * line at an address's first failure in a window and one when it hits the limit, not one per request.
 */
export function createAuthGuard(
  opts: AuthGuardOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const counter = new AuthFailureCounter(opts.failures.timeWindowMs);
  const { max } = opts.failures;
  return async (request, reply) => {
    const header = request.headers.authorization;
    const outcome = opts.verify(typeof header === 'string' ? header : undefined);
    if (outcome === 'ok') {
      if (opts.generalLimit) await opts.generalLimit(request, reply);
      return;
    }
    // IPv6 clients are keyed by their /64, as the general limit keys them.
    const address = normalizeIP(request.ip);
    const { count, resetAt } = counter.record(address);
    const retryAfterSeconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
    if (count === 1) {
      request.log.warn(
        { address, reason: outcome, method: request.method, url: request.url, windowMs: opts.failures.timeWindowMs },
        'authentication failed (further failures from this address in this window are counted, not logged)',
      );
    }
    if (count <= max) throw unauthorized();
    if (count === max + 1) {
      request.log.warn(
        { address, failures: max, retryAfterSeconds },
        'too many failed authentications from this address; answering 429 until the window passes',
      );
    }
    throw new ApiError(
      429,
      'RATE_LIMITED',
      `Too many failed authentications; retry after ${retryAfterSeconds} seconds`,
      undefined,
      { 'retry-after': String(retryAfterSeconds) },
    );
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The /v1 gate (createAuthGuard); also run by the not-found handler for unknown /v1 paths. */
    authGuard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export interface AuthPluginOptions {
  tokens: string[];
  failures: { max: number; timeWindowMs: number };
  /** The general limit on requests with a valid token; `false` turns it off. */
  rateLimit: { max: number; timeWindowMs: number } | false;
}

/**
 * Decorates the app with `authGuard`. The general limit counts only requests with a valid token;
 * failed authentications have their own bucket, so a client with a bad token cannot lock out its
 * good traffic. Needs the rate-limit plugin registered first.
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app, opts) => {
    app.decorate(
      'authGuard',
      createAuthGuard({
        verify: createTokenVerifier(opts.tokens),
        failures: opts.failures,
        generalLimit: opts.rateLimit
          ? app.rateLimit({ max: opts.rateLimit.max, timeWindow: opts.rateLimit.timeWindowMs })
          : undefined,
      }),
    );
  },
  { name: 'auth', dependencies: ['rate-limit'] },
);
