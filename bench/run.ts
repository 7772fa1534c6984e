import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEFAULT_DATABASE_URL } from '../config.js';
import { dropDatabase } from '../db/migrate.js';
import { freePort } from '../scripts/lib/ports.js';
import { provisionTemporalCli } from '../scripts/lib/temporal-cli.js';
import { startTemporalDevServer } from '../scripts/lib/temporal-dev-server.js';
import { freshDatabase, newBenchEnv } from './lib/env.js';
import { buildResults, describeMachine, LoadSampler, printTable, renderMarkdown } from './report.js';
import { FULL_SIZES, runApiOnly, runSuite, type BenchSizes } from './suite.js';

/**
 * `npm run bench`: the five scenarios on real PostgreSQL (a database of its own on the
 * server of DATABASE_URL), a Temporal dev server it starts, and the simulator, all on 127.0.0.1.
 * Writes bench/results.json and prints a table. Takes several minutes at the default sizes.
 *
 *   npm run bench                        the sizes (100,000 students, 200 × 500, 10 s loads)
 *   npm run bench -- --quick             small sizes, about a minute
 *   npm run bench -- --huge              adds a 500,000-student full sync, last (--huge-students N for another size)
 *   npm run bench -- --students 50000 --rounds 1 --fan-out-schools 50 --api-seconds 5 --out /tmp/r.json
 *   npm run bench -- --worker-node-args=--max-old-space-size=256   (try a worker flag)
 *   npm run bench -- --only api --students 20000 --api-seconds 8   (scenario 4 alone, after one seeding sync;
 *                                                                   prints its figures, writes no results file)
 *   npm run bench -- --quick --cpu-prof /tmp/prof   (CPU profiles of the worker and API children;
 *                                                     read them with bench/cpuprofile-summary.ts)
 */

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    students: { type: 'string' },
    'page-size': { type: 'string' },
    'default-page-size': { type: 'string' },
    'memory-students': { type: 'string' },
    'fan-out-schools': { type: 'string' },
    'fan-out-students': { type: 'string' },
    'fan-out-page-size': { type: 'string' },
    'api-connections': { type: 'string' },
    'api-seconds': { type: 'string' },
    rounds: { type: 'string' },
    huge: { type: 'boolean', default: false },
    'huge-students': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'worker-node-args': { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'npm run bench -- [--quick] [--students N] [--rounds N] [--page-size N] [--default-page-size N|0] [--memory-students N] [--fan-out-schools N] ' +
      '[--fan-out-students N] [--fan-out-page-size N] [--api-connections N] [--api-seconds N] [--huge [--huge-students N]] [--cpu-prof DIR] [--worker-node-args=--flag…] [--out FILE] [--only api]',
  );
  process.exit(0);
}

const QUICK: BenchSizes = {
  ...FULL_SIZES,
  students: 10_000,
  rounds: 1,
  memoryStudents: 2_000,
  fanOutSchools: 20,
  fanOutStudents: 100,
  apiSeconds: 3,
  apiWarmupSeconds: 1,
};
if (values.only !== undefined && values.only !== 'api') {
  console.error('--only takes: api (scenario 4)');
  process.exit(2);
}
const base = values.quick ? QUICK : FULL_SIZES;
const HUGE_STUDENTS = 500_000;
if (values['huge-students'] !== undefined && !values.huge) {
  console.error('--huge-students needs --huge');
  process.exit(2);
}
const int = (v: string | undefined, fallback: number, name: string) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
  return n;
};
const sizes: BenchSizes = {
  ...base,
  students: int(values.students, base.students, 'students'),
  rounds: int(values.rounds, base.rounds, 'rounds'),
  defaultPageSize:
    values['default-page-size'] === '0'
      ? 0
      : int(values['default-page-size'], base.defaultPageSize, 'default-page-size'),
  pageSize: int(values['page-size'], base.pageSize, 'page-size'),
  memoryStudents: int(values['memory-students'], base.memoryStudents, 'memory-students'),
  fanOutSchools: int(values['fan-out-schools'], base.fanOutSchools, 'fan-out-schools'),
  fanOutStudents: int(values['fan-out-students'], base.fanOutStudents, 'fan-out-students'),
  fanOutPageSize: int(values['fan-out-page-size'], base.fanOutPageSize, 'fan-out-page-size'),
  apiConnections: int(values['api-connections'], base.apiConnections, 'api-connections'),
  apiSeconds: int(values['api-seconds'], base.apiSeconds, 'api-seconds'),
  hugeStudents: values.huge ? int(values['huge-students'], HUGE_STUDENTS, 'huge-students') : 0,
};
const outFile = values.out ?? fileURLToPath(new URL('./results.json', import.meta.url));

const startedAt = new Date();
const load = new LoadSampler();
console.log(`Benchmark sizes: ${JSON.stringify(sizes)}`);

const cliPath = await provisionTemporalCli((line) => console.log(line));
const temporal = await startTemporalDevServer({ cliPath, port: await freePort(), uiPort: await freePort() });
const serverUrl = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
serverUrl.pathname = '/';
// A database per run: two benchmarks on one server must not drop each other's.
const databaseName = `powerschool_sync_bench_${process.pid}`;
const databaseUrl = await freshDatabase(serverUrl.toString(), databaseName);
console.log(`Temporal dev server ${temporal.address}; database ${databaseName}`);

let exitCode = 0;
try {
  const pgClient = new pg.Client({ connectionString: databaseUrl });
  await pgClient.connect();
  const postgres = (await pgClient.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
  await pgClient.end();

  const env = {
    ...newBenchEnv({ temporalAddress: temporal.address, temporalUiUrl: temporal.uiUrl, databaseUrl }),
    ...(temporal.process.pid ? { temporalPid: temporal.process.pid } : {}),
    ...(values['worker-node-args'] ? { workerNodeArgs: values['worker-node-args'].split(/\s+/).filter(Boolean) } : {}),
    ...(values['cpu-prof'] ? { cpuProfileDir: resolve(values['cpu-prof']) } : {}),
  };
  if (env.cpuProfileDir) mkdirSync(env.cpuProfileDir, { recursive: true });
  if (values.only === 'api') {
    const api = await runApiOnly(env, sizes);
    for (const [name, e] of Object.entries(api.endpoints)) {
      console.log(
        `${name}: API ${e.api.requestsPerSecond.toFixed(0)} req/s (${e.api.serverCpuMsPerRequest.toFixed(3)} ms CPU/req), ` +
          `bare ${e.bare.requestsPerSecond.toFixed(0)} req/s (${e.bare.serverCpuMsPerRequest.toFixed(3)} ms CPU/req), ratio ${e.ratio.toFixed(2)}`,
      );
    }
    if (values.out) writeFileSync(values.out, `${JSON.stringify(api, null, 2)}\n`);
  } else {
    const results = await runSuite(env, sizes);
    const file = buildResults(results, sizes, describeMachine(postgres, load.stop()), startedAt);
    if (env.workerNodeArgs) file.inputs.workerNodeArgs = `worker children ran with: ${env.workerNodeArgs.join(' ')}`;
    writeFileSync(outFile, `${JSON.stringify(file, null, 2)}\n`);
    console.log('');
    printTable(file);
    console.log(`\nwrote ${outFile}`);
    console.log('\nFor the README (npx tsx bench/readme-table.ts prints it again from the file):\n');
    console.log(renderMarkdown(file));
  }
} catch (err) {
  console.error(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
} finally {
  await temporal.stop();
  await dropDatabase(databaseUrl).catch(() => {});
}
process.exit(exitCode);
