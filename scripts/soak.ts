import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The long variants of the reliability suite, opt-in because they take minutes:
 *
 *   npx tsx scripts/soak.ts                 # every scenario at soak size
 *   npx tsx scripts/soak.ts worker-kill     # only files whose name contains "worker-kill"
 *
 * Runs test/reliability with RELIABILITY_SCALE=soak — the worker SIGKILLed three times in a run of
 * 20,000+ students in scope, PowerSchool chaos over ~5,000, PostgreSQL kills over ~10,000, the
 * Temporal restart over ~7,000, 25 fuzzed runs — against the same real parts as `npm test` (one
 * Temporal dev server and a fresh PostgreSQL database, from test/global-setup.ts). Each scenario
 * appends its figures to .data/reliability-figures.jsonl; a table of them is printed at the end.
 * Exits with vitest's exit code.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const figuresFile = join(ROOT, '.data', 'reliability-figures.jsonl');
const filters = process.argv.slice(2);

mkdirSync(join(ROOT, '.data'), { recursive: true });
if (existsSync(figuresFile)) rmSync(figuresFile);

// One file at a time (--maxWorkers=1): the soak sizes want the whole (2-core) machine.
const files = filters.length ? filters.map((f) => `test/reliability/${f}`) : ['test/reliability'];
console.log(`soak: vitest run ${files.join(' ')} (RELIABILITY_SCALE=soak); figures → ${figuresFile}`);
const started = Date.now();
const child = spawn(
  process.execPath,
  [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--maxWorkers=1', ...files],
  {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      RELIABILITY_SCALE: 'soak',
      RELIABILITY_FIGURES: figuresFile,
    },
  },
);
const code: number = await new Promise((resolve) => child.once('exit', (c) => resolve(c ?? 1)));

const lines = existsSync(figuresFile) ? readFileSync(figuresFile, 'utf8').split('\n').filter(Boolean) : [];
console.log(`\nsoak: ${lines.length} scenario reports in ${Math.round((Date.now() - started) / 1000)} s`);
for (const line of lines) {
  const { scenario, at: _at, ...figures } = JSON.parse(line) as Record<string, unknown>;
  console.log(`\n${String(scenario)}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${String(v)}`);
}
process.exit(code);
