/**
 * Access tokens cached in-process per (serverUrl, clientId, secret fingerprint) until shortly
 * before they expire. Concurrent callers share one token request. Tokens never leave this module
 * except as the Authorization header value, and are never logged.
 */

export interface CachedToken {
  accessToken: string;
  /** Epoch ms after which we stop using it (expiry minus a safety margin). */
  useUntil: number;
}

const tokens = new Map<string, CachedToken>();
const pending = new Map<string, Promise<CachedToken>>();

/** Refresh this long before expiry: 10% of the lifetime, at most one minute. */
export function safetyMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 10));
}

export async function getToken(key: string, fetchToken: () => Promise<CachedToken>): Promise<CachedToken> {
  const cached = tokens.get(key);
  if (cached && cached.useUntil > Date.now()) return cached;
  let inflight = pending.get(key);
  if (!inflight) {
    inflight = fetchToken()
      .then((token) => {
        tokens.set(key, token);
        return token;
      })
      .finally(() => pending.delete(key));
    pending.set(key, inflight);
  }
  return inflight;
}

/** Always asks the server (the answer replaces any cached token). */
export async function refreshToken(key: string, fetchToken: () => Promise<CachedToken>): Promise<CachedToken> {
  const token = await fetchToken();
  tokens.set(key, token);
  return token;
}

/** Forget a token the server refused; a newer one fetched meanwhile is kept. */
export function invalidateToken(key: string, accessToken: string): void {
  if (tokens.get(key)?.accessToken === accessToken) tokens.delete(key);
}

/** For tests: start from an empty cache. */
export function clearTokenCache(): void {
  tokens.clear();
}
