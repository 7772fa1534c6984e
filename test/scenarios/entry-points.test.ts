import { describe, expect, it } from 'vitest';
import proto from '@temporalio/proto';
import { migrateToLatest } from '../../db/migrate.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv } from '../helpers/env.js';
import { runNode } from '../helpers/process.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;

const runScript = (script: string, env: Record<string, string>) => runNode(script, { env, timeoutMs: 30_000 });

describe('entry points', () => {
  it('a malformed DATABASE_URL stops the process with one line naming it and a non-zero exit', async () => {
    const r = await runScript('scripts/migrate.ts', { DATABASE_URL: 'mysql://nope' });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      'Configuration error: DATABASE_URL: must be a postgres:// connection URL',
    ]);
  });

  it('the API and the worker refuse ALLOW_INSECURE_POWERSCHOOL in production: one line, exit 78', async () => {
    const env = {
      NODE_ENV: 'production',
      ALLOW_INSECURE_POWERSCHOOL: 'true',
      API_TOKENS: 'a'.repeat(40),
      SECRETS_KEY: Buffer.alloc(32, 3).toString('base64'),
      DATABASE_URL: testEnv.databaseUrl,
    };
    for (const script of ['api/main.ts', 'worker/main.ts']) {
      const r = await runScript(script, env);
      expect(r.code, script).toBe(78);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^Configuration error: ALLOW_INSECURE_POWERSCHOOL: only allowed when NODE_ENV is development or test/,
        ),
      ]);
    }
  });

  it('the API refuses an API_TOKENS entry shorter than 32 characters: one line, exit 78', async () => {
    const r = await runScript('api/main.ts', {
      NODE_ENV: 'production',
      API_TOKENS: `${'a'.repeat(40)},short-token-0123456789`,
      SECRETS_KEY: Buffer.alloc(32, 3).toString('base64'),
    });
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Configuration error: API_TOKENS: each token must be at least 32 characters/),
    ]);
  });

  it('an unreachable database gives one clear line and a non-zero exit', async () => {
    const r = await runScript('scripts/migrate.ts', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing_here' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^migrate failed: ECONNREFUSED/);
  });

  it('npm run migrate is idempotent on an up-to-date database', async () => {
    const r = await runScript('scripts/migrate.ts', { DATABASE_URL: testEnv.databaseUrl });
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('database is up to date');
    const db = testDb({ max: 1 });
    try {
      expect((await migrateToLatest(db)).results).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('the Temporal dev server serves its web UI and has our search attributes', async () => {
    const res = await fetch(testEnv.temporalUiUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<!doctype html>/i);
    const client = await testClient();
    try {
      const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      expect(customAttributes).toMatchObject({
        SchoolId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        SyncTrigger: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        TestRun: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
      });
    } finally {
      await client.connection.close();
    }
  });
});
