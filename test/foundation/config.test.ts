import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_API_TOKEN, loadConfig } from '../../config.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const prod = { NODE_ENV: 'production', API_TOKENS: 'token-aaaaaaaa', SECRETS_KEY: KEY };

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({ ...prod }, 'api');
    expect(c.temporal).toEqual({
      address: 'localhost:7233',
      namespace: 'default',
      taskQueue: 'powerschool-sync',
      uiUrl: 'http://localhost:8233',
    });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(c.email.from).toBe('PowerSchool Sync <sync@localhost>');
    expect(c.allowInsecurePowerSchool).toBe(false);
    expect(c.logLevel).toBe('info');
    expect(c.apiTokens).toEqual(['token-aaaaaaaa']);
    expect(c.rateLimit).toEqual({ max: 1200, timeWindowMs: 60_000 });
    expect(loadConfig({ ...prod, API_RATE_LIMIT_MAX: '0' }, 'api').rateLimit).toBeNull();
  });

  it('requires API_TOKENS for the API outside development and test, naming the variable', () => {
    expect(errorOf(() => loadConfig({ NODE_ENV: 'production', SECRETS_KEY: KEY }, 'api'))).toMatch(/^API_TOKENS: /);
    // The worker does not serve HTTP, so it does not need tokens.
    expect(() => loadConfig({ NODE_ENV: 'production', SECRETS_KEY: KEY }, 'worker')).not.toThrow();
  });

  it('requires SECRETS_KEY for the API and worker outside development and test', () => {
    expect(errorOf(() => loadConfig({ NODE_ENV: 'production', API_TOKENS: 'token-aaaaaaaa' }, 'worker'))).toMatch(
      /^SECRETS_KEY: /,
    );
  });

  it('falls back to development credentials only in development and test', () => {
    const c = loadConfig({ NODE_ENV: 'test' }, 'api');
    expect(c.apiTokens).toEqual([DEV_API_TOKEN]);
    expect(c.secretsKeys[0]).toHaveLength(32);
  });

  it.each([
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['SECRETS_KEY', 'c2hvcnQ='],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['TEMPORAL_ADDRESS', 'localhost'],
    ['TEMPORAL_UI_URL', 'nope'],
    ['LOG_LEVEL', 'loud'],
    ['ALLOW_INSECURE_POWERSCHOOL', 'yes'],
    ['API_RATE_LIMIT_MAX', '-1'],
    ['API_RATE_LIMIT_WINDOW_MS', '10'],
  ])('rejects a malformed %s with a message naming it', (name, value) => {
    expect(errorOf(() => loadConfig({ ...prod, [name]: value }, 'api'))).toMatch(new RegExp(`^${name}: `));
  });

  it('accepts previous keys for rotation, current key first', () => {
    const old = Buffer.alloc(32, 2).toString('base64');
    const c = loadConfig({ ...prod, SECRETS_KEY_PREVIOUS: old }, 'api');
    expect(c.secretsKeys.map((k) => k.toString('base64'))).toEqual([KEY, old]);
    expect(errorOf(() => loadConfig({ ...prod, SECRETS_KEY_PREVIOUS: 'bad' }, 'api'))).toMatch(
      /^SECRETS_KEY_PREVIOUS: /,
    );
  });
});
