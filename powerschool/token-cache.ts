// The in-process, bounded cache of PowerSchool access tokens, with shared token requests.
/**
 * Access tokens cached in-process per (serverUrl, clientId, secret fingerprint) until shortly
 * before they expire. Concurrent callers share one token request. Tokens never leave this module
 * except as the Authorization header value, and are never logged.
 *
 * Bounded: a token is dropped once it is past its use-by time (TTL), and beyond
 * TOKEN_CACHE_MAX_ENTRIES credentials the least recently used one goes first (LRU), so a long-lived
 * worker does not keep a token for every credential it ever saw (rotated secrets, deleted schools).
 */

export interface CachedToken {
  accessToken: string;
  /** Epoch ms after which we stop using it (expiry minus a safety margin). */
  useUntil: number;
}

/** Far more schools than one worker syncs at a time; a dropped token only costs one token request. */
export const TOKEN_CACHE_MAX_ENTRIES = 1_000;

/** A Map kept in least-recently-used-first order: a hit moves its key to the end. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  constructor(
    private readonly maxEntries = TOKEN_CACHE_MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token while it is still usable; an expired one is dropped. */
  get(key: string): CachedToken | undefined {
    const token = this.tokens.get(key);
    if (!token) return undefined;
    this.tokens.delete(key);
    if (token.useUntil <= this.now()) return undefined;
    this.tokens.set(key, token);
    return token;
  }

  set(key: string, token: CachedToken): void {
    this.tokens.delete(key);
    this.tokens.set(key, token);
    if (this.tokens.size <= this.maxEntries) return;
    // Expired tokens go first, then the least recently used.
    const now = this.now();
    for (const [k, t] of this.tokens) if (t.useUntil <= now) this.tokens.delete(k);
    for (const k of this.tokens.keys()) {
      if (this.tokens.size <= this.maxEntries) break;
      this.tokens.delete(k);
    }
  }

  /** Drops the token only if it is still this one (a newer one fetched meanwhile is kept). */
  deleteIf(key: string, accessToken: string): void {
    if (this.tokens.get(key)?.accessToken === accessToken) this.tokens.delete(key);
  }

  clear(): void {
    this.tokens.clear();
  }

  get size(): number {
    return this.tokens.size;
  }
}

const tokens = new TokenCache();
const pending = new Map<string, Promise<CachedToken>>();

/** Refresh this long before expiry: 10% of the lifetime, at most one minute. */
export function safetyMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 10));
}

export async function getToken(key: string, fetchToken: () => Promise<CachedToken>): Promise<CachedToken> {
  const cached = tokens.get(key);
  if (cached) return cached;
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
  tokens.deleteIf(key, accessToken);
}

/** How many tokens the process holds (tests; a bounded number whatever the history). */
export function tokenCacheSize(): number {
  return tokens.size;
}

/** For tests: start from an empty cache. */
export function clearTokenCache(): void {
  tokens.clear();
}
