import { beforeEach, describe, expect, it } from 'vitest';
import {
  clearTokenCache,
  getToken,
  TOKEN_CACHE_MAX_ENTRIES,
  TokenCache,
  tokenCacheSize,
} from '../../powerschool/token-cache.js';

const HOUR = 3_600_000;

describe('the process token cache', () => {
  beforeEach(() => clearTokenCache());

  it('does not grow with every credential ever seen: the least recently used goes first', async () => {
    let fetches = 0;
    const fetchToken = (key: string) => async () => {
      fetches++;
      return { accessToken: `token-${key}`, useUntil: Date.now() + HOUR };
    };
    const keys = Array.from({ length: TOKEN_CACHE_MAX_ENTRIES + 50 }, (_, i) => `key-${i}`);
    await getToken(keys[0]!, fetchToken(keys[0]!));
    await getToken(keys[1]!, fetchToken(keys[1]!));
    await getToken(keys[0]!, fetchToken(keys[0]!)); // key-0 used again: key-1 is now the older
    expect(fetches).toBe(2);
    for (const key of keys.slice(2)) await getToken(key, fetchToken(key));
    expect(tokenCacheSize()).toBe(TOKEN_CACHE_MAX_ENTRIES);

    fetches = 0;
    await getToken(keys[1]!, fetchToken(keys[1]!)); // evicted: asked for again
    expect(fetches).toBe(1);
    await getToken(keys.at(-1)!, fetchToken(keys.at(-1)!)); // recent: still cached
    expect(fetches).toBe(1);
  });

  it('drops a token once it is past its use-by time', async () => {
    let fetches = 0;
    const expired = async () => {
      fetches++;
      return { accessToken: 'old', useUntil: Date.now() - 1 };
    };
    await getToken('k', expired);
    expect(tokenCacheSize()).toBe(1);
    const fresh = await getToken('k', async () => {
      fetches++;
      return { accessToken: 'new', useUntil: Date.now() + HOUR };
    });
    expect(fresh.accessToken).toBe('new');
    expect(fetches).toBe(2);
    expect(tokenCacheSize()).toBe(1);
  });
});

describe('TokenCache', () => {
  it('evicts expired tokens before live ones, then the least recently used', () => {
    let now = 0;
    const cache = new TokenCache(3, () => now);
    cache.set('a', { accessToken: 'a', useUntil: 100 });
    cache.set('b', { accessToken: 'b', useUntil: 1_000 });
    cache.set('c', { accessToken: 'c', useUntil: 50 });
    now = 60; // c has expired
    expect(cache.get('a')?.accessToken).toBe('a'); // a is now the most recently used
    cache.set('d', { accessToken: 'd', useUntil: 1_000 });
    expect(cache.size).toBe(3); // c went, not b
    expect(cache.get('b')?.accessToken).toBe('b');
    cache.set('e', { accessToken: 'e', useUntil: 1_000 });
    expect(cache.get('a')).toBeUndefined(); // the least recently used of the live ones
    expect(cache.size).toBe(3);
    now = 100;
    cache.set('a', { accessToken: 'a2', useUntil: 2_000 });
    expect(cache.get('a')?.accessToken).toBe('a2');
  });

  it('forgets an expired token on read, and a refused one only if it is still the cached one', () => {
    let now = 0;
    const cache = new TokenCache(10, () => now);
    cache.set('k', { accessToken: 'one', useUntil: 10 });
    cache.deleteIf('k', 'other');
    expect(cache.get('k')?.accessToken).toBe('one');
    cache.deleteIf('k', 'one');
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', { accessToken: 'two', useUntil: 10 });
    now = 10;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
