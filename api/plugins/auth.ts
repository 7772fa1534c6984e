import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

/**
 * Bearer tokens compared in constant time: each candidate is hashed to a fixed length first (so
 * neither the length nor the content of a configured token leaks through timing), and every
 * configured token is compared, match or not.
 */
export function createTokenVerifier(
  tokens: string[],
): (header: string | undefined) => 'ok' | 'missing' | 'malformed' | 'invalid' {
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

/** Throws 401 unless the request carries a valid token. Logs why, never the token. */
export function authenticate(verify: ReturnType<typeof createTokenVerifier>, request: FastifyRequest): void {
  const header = request.headers.authorization;
  const outcome = verify(typeof header === 'string' ? header : undefined);
  if (outcome === 'ok') return;
  request.log.warn({ reason: outcome, method: request.method, url: request.url }, 'authentication failed');
  throw unauthorized();
}
