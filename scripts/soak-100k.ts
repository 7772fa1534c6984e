import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { DEFAULT_DATABASE_URL, loadConfig } from '../config.js';
import { createDb } from '../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../db/migrate.js';
import { putIntegration } from '../db/queries/integrations.js';
import { listStudents } from '../db/queries/listings.js';
import { startSimulator } from '../simulator/index.js';
import { SecretBox } from '../secrets/secret-box.js';
import { PROGRESS_QUERY, SYNC_WORKFLOW_TYPE, type SyncProgress, type SyncStudentsResult } from '../workflows/types.js';
import { createWorker } from '../worker/create-worker.js';
import { freePort } from './lib/ports.js';
import { simulatorIntegration } from './lib/simulator-integration.js';
import { provisionTemporalCli } from './lib/temporal-cli.js';
import { startTemporalDevServer } from './lib/temporal-dev-server.js';

/**
 * The 100,000-student soak, kept out of `npm test` because it takes minutes: a district of
 * 100,000 in-scope students committed through the real pipeline (Temporal dev server, a fresh
 * PostgreSQL database, the simulator, an in-process worker), then a second, unchanged run.
 * Checks every stored student against the simulator and prints the times.
 *
 *   npx tsx scripts/soak-100k.ts
 *   SOAK_STUDENTS=100000 SOAK_PAGE_SIZE=100 npx tsx scripts/soak-100k.ts
 *
 * PowerSchool's default maximum page size is 100, so that is the default here (1,000 pages).
 */

const TARGET = Number(process.env.SOAK_STUDENTS ?? 100_000);
const PAGE_SIZE = Number(process.env.SOAK_PAGE_SIZE ?? 100);
const log = (line: string) => console.log(`[soak] ${line}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const serverUrl = new URL(process.env.TEST_POSTGRES_URL ?? DEFAULT_DATABASE_URL);
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/pss_soak_${Date.now().toString(36)}`;
const databaseUrl = dbUrl.toString();

const cliPath = await provisionTemporalCli(log);
const server = await startTemporalDevServer({ cliPath, port: await freePort(), uiPort: await freePort() });
await ensureDatabase(databaseUrl);
const db = createDb(databaseUrl, { max: 10, applicationName: 'powerschool-sync-soak' });
await migrateToLatest(db);

// All grades: the simulator seeds ~85% active students; top up or trim to exactly TARGET.
const seeded = Math.ceil(TARGET / 0.85);
const sim = await startSimulator({ students: seeded, seed: 100, maxPageSize: PAGE_SIZE });
let inScope = sim.students.inScope(-2, 12);
for (let i = inScope.length; i < TARGET; i++) sim.students.add({ enroll_status: 0, grade_level: 10 });
for (const s of inScope.slice(TARGET)) sim.students.remove(s.dcid);
inScope = sim.students.inScope(-2, 12);
log(`simulator: ${sim.students.list().length} students, ${inScope.length} in scope, page size ${PAGE_SIZE}`);

const config = loadConfig(
  {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `soak-${randomUUID()}`,
    ALLOW_INSECURE_POWERSCHOOL: 'true',
    LOG_LEVEL: 'warn',
  },
  'worker',
);
const schoolId = 'soak-district';
const sealed = new SecretBox(config.secretsKeys).seal(sim.clientSecret, schoolId);
await putIntegration(db, schoolId, simulatorIntegration(sim), sealed);

const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const worker = await createWorker(config, { db, temporalClient: client, logger: pino({ level: 'warn' }) });
const running = worker.run();

async function timedRun(label: string): Promise<SyncStudentsResult> {
  const started = Date.now();
  const handle = await client.workflow.start(SYNC_WORKFLOW_TYPE, {
    taskQueue: config.temporal.taskQueue,
    workflowId: `powerschool-sync-${schoolId}-${label}-${started}`,
    args: [{ schoolId, trigger: 'manual' }],
  });
  const ticker = setInterval(() => {
    handle
      .query<SyncProgress & { phase: string }>(PROGRESS_QUERY)
      .then((p) => log(`  ${label}: ${p.phase}, page ${p.pagesFetched}/${p.pagesTotal}, ${p.recordsFetched} records`))
      .catch(() => {});
  }, 10_000);
  try {
    const result = (await handle.result()) as SyncStudentsResult;
    log(`${label}: ${seconds(Date.now() - started)} — ${JSON.stringify(result.counts)}`);
    log(
      `${label}: diff step (${await diffStepTime(handle.workflowId)}), ${await executions(handle.workflowId)} executions`,
    );
    return result;
  } finally {
    clearInterval(ticker);
  }
}

/** How long applyRun/previewRun took, from the last execution's history. */
async function diffStepTime(workflowId: string): Promise<string> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = events.find((e) =>
    ['applyRun', 'previewRun'].includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
  );
  const completed = events.find(
    (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(scheduled?.eventId),
  );
  const ms = (e: typeof scheduled) => Number(e?.eventTime?.seconds ?? 0) * 1000 + (e?.eventTime?.nanos ?? 0) / 1e6;
  return scheduled && completed ? seconds(ms(completed) - ms(scheduled)) : 'n/a';
}

async function executions(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

let failed = false;
try {
  const first = await timedRun('commit');
  const second = await timedRun('unchanged');

  const checkStarted = Date.now();
  // Every student in one page: the page is larger than the district.
  const stored = (await listStudents(db, schoolId, { limit: TARGET * 2 })).items;
  const byDcid = new Map(stored.map((r) => [r.dcid, r]));
  let mismatches = 0;
  for (const s of inScope) {
    const r = byDcid.get(String(s.dcid));
    const ok =
      r &&
      r.student_number === String(Number(s.student_number)) &&
      r.first_name === s.first_name.trim().normalize('NFC') &&
      r.last_name === s.last_name.trim().normalize('NFC') &&
      r.graduation_year === s.sched_yearofgraduation &&
      r.date_of_birth === s.dob &&
      r.gender === (s.gender ? s.gender.toUpperCase() : null);
    if (!ok) mismatches++;
  }
  log(`check: ${stored.length} stored, ${mismatches} mismatches (${seconds(Date.now() - checkStarted)})`);
  const expected = { fetched: TARGET, created: TARGET, updated: 0, unchanged: 0, invalid: 0, missing: 0 };
  const expectedAgain = { ...expected, created: 0, unchanged: TARGET };
  failed =
    mismatches > 0 ||
    stored.length !== TARGET ||
    JSON.stringify(first.counts) !== JSON.stringify(expected) ||
    JSON.stringify(second.counts) !== JSON.stringify(expectedAgain);
  log(failed ? 'FAILED' : 'OK');
} finally {
  worker.shutdown();
  await running.catch(() => {});
  await connection.close();
  await sim.close();
  await db.destroy();
  await server.stop();
  await dropDatabase(databaseUrl).catch(() => {});
}
process.exit(failed ? 1 : 0);
