/**
 * Reads every in-scope student of a 100,000-student simulator through the PowerSchool client and
 * reports pages/s, records/s and the client's peak memory. The simulator runs in a child process
 * so the memory figures are the client's alone.
 *
 * Run: `npx tsx bench/powerschool-read.ts` (BENCH_STUDENTS, BENCH_GRADES=-2..12 to change the defaults).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { PowerSchoolClient } from '../powerschool/client.js';
import { normaliseStudent } from '../powerschool/records.js';
import { currentSchoolYearEnd, seedStudents } from '../simulator/students.js';

const students = Number(process.env.BENCH_STUDENTS ?? 100_000);
const seed = 1;
const [gradeFrom, gradeTo] = (process.env.BENCH_GRADES ?? '-2..12').split('..').map(Number) as [number, number];
const mb = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));

async function startSimulatorProcess() {
  const main = fileURLToPath(new URL('../simulator/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_STUDENTS: String(students), SIMULATOR_SEED: String(seed) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<{ url: string; clientId: string; clientSecret: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const url = /listening at (\S+)/.exec(output)?.[1];
      const clientId = /client id:\s+(\S+)/.exec(output)?.[1];
      const clientSecret = /client secret:\s+(\S+)/.exec(output)?.[1];
      if (url && clientId && clientSecret) resolve({ url, clientId, clientSecret });
    });
  });
  return { child, ...(await ready) };
}

const sim = await startSimulatorProcess();
try {
  const client = new PowerSchoolClient({
    credentials: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
    allowInsecure: true,
  });
  const scope = { gradeFrom, gradeTo };
  const pageSize = await client.getMaxPageSize();

  const baseline = process.memoryUsage();
  let peakHeap = baseline.heapUsed;
  let peakRss = baseline.rss;
  let records = 0;
  let valid = 0;
  let pages = 0;
  const started = performance.now();
  const counted = await client.countStudents(scope);
  // Keyset pages, as the worker reads: until a short page.
  for (let after: string | null = null; ;) {
    const rows = await client.fetchStudentsAfter(scope, after, pageSize);
    pages++;
    for (const row of rows) {
      records++;
      if (normaliseStudent(row).ok) valid++;
    }
    if (rows.length > 0) after = String((rows.at(-1) as { dcid: unknown }).dcid);
    if (pages % 10 === 0) {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }
    if (rows.length < pageSize) break;
  }
  const seconds = (performance.now() - started) / 1000;

  // Independent check: the same seed, generated here, filtered by hand.
  const expected = seedStudents({ count: students, seed, schoolYearEnd: currentSchoolYearEnd() }).filter(
    (s) => s.enroll_status === 0 && s.grade_level >= gradeFrom && s.grade_level <= gradeTo,
  ).length;

  console.log(`PowerSchool read: ${students} seeded students, grades ${gradeFrom}..${gradeTo}, page size ${pageSize}`);
  console.table({
    'students in scope': expected,
    'records read': records,
    'records valid': valid,
    pages,
    seconds: Number(seconds.toFixed(2)),
    'pages/s': Math.round(pages / seconds),
    'records/s': Math.round(records / seconds),
    'client heap before (MB)': mb(baseline.heapUsed),
    'client peak heap (MB)': mb(peakHeap),
    'client peak RSS (MB)': mb(peakRss),
  });
  if (records !== expected || counted !== expected) {
    console.error(`count check FAILED: expected ${expected}, read ${records}, PowerSchool counted ${counted}`);
    process.exitCode = 1;
  } else console.log('count check passed');
} finally {
  sim.child.kill('SIGTERM');
  await once(sim.child, 'exit');
}
