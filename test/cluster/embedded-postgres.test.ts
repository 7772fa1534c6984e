import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/lib/go-build.js';
import { freePort, isPortFree } from '../../scripts/lib/ports.js';

/**
 * Both README commands on a machine without PostgreSQL: with DEMO_POSTGRES_URL / TEST_POSTGRES_URL
 * pointing where nothing listens and DATABASE_URL unset, the demo and a file of the test suite run
 * on an embedded PostgreSQL they start and stop themselves (nothing shared is stopped).
 */

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** This process's environment without DATABASE_URL and without the outer vitest's own variables. */
async function envWithoutPostgres(variable: 'DEMO_POSTGRES_URL' | 'TEST_POSTGRES_URL'): Promise<NodeJS.ProcessEnv> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !k.startsWith('VITEST') && k !== 'NODE_ENV'),
  );
  const nobody = await freePort(); // free now, and nothing of ours will listen there
  return { ...env, NO_COLOR: '1', [variable]: `postgres://postgres@127.0.0.1:${nobody}` };
}

describe('embedded PostgreSQL when none answers', () => {
  it('npm run demo -- --once succeeds on an embedded PostgreSQL and stops it on exit', async () => {
    const { code, output } = await run(
      ['--import', 'tsx', 'scripts/demo.ts', '--once'],
      await envWithoutPostgres('DEMO_POSTGRES_URL'),
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/\(DEMO_POSTGRES_URL\): starting an embedded PostgreSQL/);
    expect(output).toMatch(/Demo finished in/);
    const port = Number(/PostgreSQL +embedded, 127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(await isPortFree(port)).toBe(true); // stopped with the demo
  });

  it('a file of the test suite passes on an embedded PostgreSQL', async () => {
    const { code, output } = await run(
      ['node_modules/vitest/vitest.mjs', 'run', 'test/worker/worker-activity-db.e2e.test.ts'],
      await envWithoutPostgres('TEST_POSTGRES_URL'),
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/\(TEST_POSTGRES_URL\): starting an embedded PostgreSQL/);
    expect(output).toMatch(/Tests +1 passed/);
  });
});
