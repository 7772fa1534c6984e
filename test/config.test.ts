import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, TEST_API_TOKEN } from '../config.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const TOKEN = 'token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const prod = { NODE_ENV: 'production', API_TOKENS: TOKEN, SECRETS_KEY: KEY };

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
    expect(c.http).toEqual({ host: '127.0.0.1', port: 3000, publicUrl: 'http://127.0.0.1:3000' });
    // The OpenAPI document's server: PUBLIC_URL when the API sits behind a proxy or listens on 0.0.0.0.
    expect(loadConfig({ ...prod, PUBLIC_URL: 'https://sync.example.org/' }, 'api').http.publicUrl).toBe(
      'https://sync.example.org',
    );
    expect(loadConfig({ ...prod, HOST: '::1', PORT: '8080' }, 'api').http.publicUrl).toBe('http://[::1]:8080');
    expect(errorOf(() => loadConfig({ ...prod, PUBLIC_URL: 'sync.example.org' }, 'api'))).toMatch(/^PUBLIC_URL: /);
    expect(c.email.from).toBe('PowerSchool Sync <sync@localhost>');
    expect(c.allowInsecurePowerSchool).toBe(false);
    expect(c.logLevel).toBe('info');
    expect(c.apiTokens).toEqual([TOKEN]);
    expect(c.rateLimit).toEqual({ max: 1200, timeWindowMs: 60_000 });
    expect(c.authFailures).toEqual({ max: 20, timeWindowMs: 60_000 });
    expect(
      loadConfig({ ...prod, API_AUTH_FAILURES_MAX: '5', API_RATE_LIMIT_WINDOW_MS: '1000' }, 'api').authFailures,
    ).toEqual({ max: 5, timeWindowMs: 1000 });
    expect(loadConfig({ ...prod, API_RATE_LIMIT_MAX: '0' }, 'api').rateLimit).toBeNull();
  });

  it('requires API_TOKENS for the API outside development and test, naming the variable', () => {
    expect(errorOf(() => loadConfig({ NODE_ENV: 'production', SECRETS_KEY: KEY }, 'api'))).toMatch(/^API_TOKENS: /);
    // The worker does not serve HTTP, so it does not need tokens.
    expect(() => loadConfig({ NODE_ENV: 'production', SECRETS_KEY: KEY }, 'worker')).not.toThrow();
  });

  it('requires SECRETS_KEY for the API and worker outside development and test', () => {
    expect(errorOf(() => loadConfig({ NODE_ENV: 'production', API_TOKENS: TOKEN }, 'worker'))).toMatch(
      /^SECRETS_KEY: /,
    );
  });

  it('falls back to the fixed test credentials only under NODE_ENV=test', () => {
    const c = loadConfig({ NODE_ENV: 'test' }, 'api');
    expect(c.apiTokens).toEqual([TEST_API_TOKEN]);
    expect(TEST_API_TOKEN.length).toBeGreaterThanOrEqual(32);
    expect(c.secretsKeys[0]).toHaveLength(32);
    // development is not test: a developer's process that can be reached needs its own secrets.
    expect(errorOf(() => loadConfig({ NODE_ENV: 'development', SECRETS_KEY: KEY }, 'api'))).toMatch(/^API_TOKENS: /);
    expect(errorOf(() => loadConfig({ NODE_ENV: 'development', API_TOKENS: TOKEN }, 'api'))).toMatch(/^SECRETS_KEY: /);
    expect(errorOf(() => loadConfig({ NODE_ENV: 'development' }, 'worker'))).toMatch(/^SECRETS_KEY: /);
    // Nor does any other process role pick them up outside test.
    expect(loadConfig({ NODE_ENV: 'production', SECRETS_KEY: KEY }, 'worker').apiTokens).toEqual([]);
    expect(loadConfig({}, 'tool').secretsKeys).toEqual([]);
    // Explicit values (what the demo passes) work in development.
    const dev = loadConfig({ NODE_ENV: 'development', API_TOKENS: TOKEN, SECRETS_KEY: KEY }, 'api');
    expect(dev.apiTokens).toEqual([TOKEN]);
    expect(dev.secretsKeys.map((k) => k.toString('base64'))).toEqual([KEY]);
  });

  it('requires every API token to have at least 32 characters', () => {
    const short = 'x'.repeat(31);
    expect(errorOf(() => loadConfig({ ...prod, API_TOKENS: short }, 'api'))).toMatch(/^API_TOKENS: .*32 characters/);
    expect(errorOf(() => loadConfig({ ...prod, API_TOKENS: `${TOKEN},${short}` }, 'api'))).toMatch(/^API_TOKENS: /);
    expect(loadConfig({ ...prod, API_TOKENS: 'x'.repeat(32) }, 'api').apiTokens).toEqual(['x'.repeat(32)]);
  });

  it('refuses ALLOW_INSECURE_POWERSCHOOL outside development and test, naming it', () => {
    for (const NODE_ENV of ['production', 'staging', undefined]) {
      const env = { ...prod, NODE_ENV, ALLOW_INSECURE_POWERSCHOOL: 'true' };
      expect(errorOf(() => loadConfig(env, 'worker'))).toMatch(/^ALLOW_INSECURE_POWERSCHOOL: /);
      expect(loadConfig({ ...env, ALLOW_INSECURE_POWERSCHOOL: 'false' }, 'worker').allowInsecurePowerSchool).toBe(
        false,
      );
    }
    for (const NODE_ENV of ['development', 'test']) {
      expect(
        loadConfig({ ...prod, NODE_ENV, ALLOW_INSECURE_POWERSCHOOL: 'true' }, 'worker').allowInsecurePowerSchool,
      ).toBe(true);
    }
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
    ['API_AUTH_FAILURES_MAX', '0'],
    ['API_AUTH_FAILURES_MAX', 'many'],
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

  it('reads SCHEDULE_RECONCILE_INTERVAL in milliseconds, five minutes by default', () => {
    expect(loadConfig({ ...prod }, 'worker').scheduleReconcileIntervalMs).toBe(300_000);
    expect(loadConfig({ ...prod, SCHEDULE_RECONCILE_INTERVAL: '60000' }, 'worker').scheduleReconcileIntervalMs).toBe(
      60_000,
    );
    for (const bad of ['0', '999', 'often', '1.5'])
      expect(errorOf(() => loadConfig({ ...prod, SCHEDULE_RECONCILE_INTERVAL: bad }, 'worker'))).toMatch(
        /^SCHEDULE_RECONCILE_INTERVAL: /,
      );
  });

  it('reads WORKFLOW_BUNDLE_PATH as an absolute path; a worker refuses one that does not exist, naming it', () => {
    expect(loadConfig({ ...prod }, 'worker').workflowBundlePath).toBeUndefined();
    expect(loadConfig({ ...prod, WORKFLOW_BUNDLE_PATH: 'package.json' }, 'worker').workflowBundlePath).toBe(
      resolve('package.json'),
    );
    expect(errorOf(() => loadConfig({ ...prod, WORKFLOW_BUNDLE_PATH: 'no/such/bundle.js' }, 'worker'))).toBe(
      `WORKFLOW_BUNDLE_PATH: no such file: ${resolve('no/such/bundle.js')}`,
    );
    // Only the worker loads a bundle.
    expect(loadConfig({ ...prod, WORKFLOW_BUNDLE_PATH: 'no/such/bundle.js' }, 'api').workflowBundlePath).toBe(
      resolve('no/such/bundle.js'),
    );
  });
});
