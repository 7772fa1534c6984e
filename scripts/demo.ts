import { listOutboxEmails } from '../db/queries/email-outbox.js';
import type { RunCounts } from '../db/queries/run-counts.js';
import { join } from 'node:path';
import {
  describeServer,
  postgresAnswers,
  reachableDataDir,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from './lib/embedded-postgres.js';
import { importExistingAccounts, resolveOneReview, showLinks } from './lib/demo-matching.js';
import { PROJECT_ROOT } from './lib/go-build.js';
import { districtStory } from './lib/demo-district.js';
import { startStack, type Stack } from './lib/stack.js';

/**
 * `npm run demo`: the whole product on this machine, then one school's story through the public
 * HTTP API — test run → commit → incremental sync. `-- --once` exits after the story; otherwise
 * everything stays up for exploring until Ctrl-C.
 */

const once = process.argv.includes('--once');
const SCHOOL = 'demo-school';
const STUDENTS = 3000;
const tty = process.stdout.isTTY;

interface Run {
  id: string;
  status: string;
  testRun: boolean;
  counts: RunCounts;
  progress?: { pagesFetched: number; pagesTotal: number | null; recordsFetched: number; recordsTotal: number | null };
  error: { code: string; message: string } | null;
  notification: { status: string };
  temporal: { uiUrl: string };
}
interface Change {
  powerschoolId: string;
  type: 'create' | 'update';
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

const say = (line = '') => console.log(line);
const step = (title: string) => say(`\n\x1b[1m== ${title}\x1b[0m`);

function bar(done: number, total: number | null): string {
  const width = 30;
  const share = total ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${total ? Math.round(share * 100) : 0}%`;
}

async function runAndWatch(stack: Stack, testRun: boolean): Promise<Run> {
  const started = await stack.api<Run>('POST', `/v1/schools/${SCHOOL}/runs`, { testRun });
  say(`  run ${started.id} (${testRun ? 'test run' : 'commit'})`);
  const t0 = Date.now();
  let lastLine = '';
  for (;;) {
    const run = await stack.api<Run>('GET', `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(started.id)}`);
    const p = run.progress;
    const line = p
      ? `  ${bar(p.recordsFetched, p.recordsTotal)} pages ${p.pagesFetched}/${p.pagesTotal ?? '?'}, records ${p.recordsFetched}/${p.recordsTotal ?? '?'}`
      : '';
    if (line !== lastLine) {
      if (tty) process.stdout.write(`\r${line}`);
      else if (run.status !== 'running') say(line);
      lastLine = line;
    }
    if (run.status !== 'running') {
      if (tty) process.stdout.write('\n');
      say(`  ${run.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      if (run.error) say(`  error: ${run.error.code}: ${run.error.message}`);
      const c = run.counts;
      say(
        `  fetched ${c.fetched} · ${testRun ? 'would create' : 'created'} ${c.created} · ${testRun ? 'would update' : 'updated'} ${c.updated} · unchanged ${c.unchanged} · invalid ${c.invalid} · missing ${c.missing} · ${testRun ? 'would link' : 'linked'} ${c.linked} · needs review ${c.needsReview}`,
      );
      if (run.status !== 'succeeded') throw new Error(`run ${run.id} ended ${run.status}`);
      return await notificationSettled(stack, run);
    }
    if (Date.now() - t0 > 5 * 60_000) throw new Error(`run ${started.id} still running after 5 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The run's status is final before its email goes out; wait for the email too. */
async function notificationSettled(stack: Stack, run: Run): Promise<Run> {
  const deadline = Date.now() + 60_000;
  while (run.notification.status === 'pending' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    run = await stack.api<Run>('GET', `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(run.id)}`);
  }
  say(`  notification: ${run.notification.status}`);
  return run;
}

function describeChange(c: Change): string {
  const a = c.after;
  if (c.type === 'create') return `+ ${c.powerschoolId}: ${a.firstName} ${a.lastName}, class of ${a.graduationYear}`;
  const diffs = Object.keys(a)
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(c.before?.[k]))
    .map((k) => `${k} ${JSON.stringify(c.before?.[k])} → ${JSON.stringify(a[k])}`);
  return `~ ${c.powerschoolId}: ${diffs.join(', ')}`;
}

async function sampleChanges(stack: Stack, run: Run, type: 'create' | 'update', n: number) {
  const { changes } = await stack.api<{ changes: Change[] }>(
    'GET',
    `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(run.id)}/changes?type=${type}&limit=${n}`,
  );
  for (const c of changes) say(`    ${describeChange(c)}`);
}

/**
 * DATABASE_URL's server when it is set; else DEMO_POSTGRES_URL's when something answers there;
 * else an embedded PostgreSQL under .data/, so the demo runs on a machine without a server.
 */
async function demoPostgres(): Promise<{ serverUrl: string; embedded?: EmbeddedPostgres }> {
  if (process.env.DATABASE_URL) return { serverUrl: process.env.DATABASE_URL };
  const wanted = process.env.DEMO_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432';
  if (await postgresAnswers(wanted)) return { serverUrl: wanted };
  const dataDir = reachableDataDir(join(PROJECT_ROOT, '.data', 'embedded-postgres'));
  say(`  nothing answers at ${describeServer(wanted)} (DEMO_POSTGRES_URL): starting an embedded PostgreSQL…`);
  const embedded = await startEmbeddedPostgres({ dataDir });
  say(`  PostgreSQL         embedded, 127.0.0.1:${embedded.port}, data in ${dataDir} (stopped on exit)`);
  return { serverUrl: embedded.url, embedded };
}

async function main() {
  const t0 = Date.now();
  step('Starting the stack (Temporal dev server, database, PowerSchool simulator, worker, API)');
  const postgres = await demoPostgres();
  const stack = await startStack({
    postgresServerUrl: postgres.serverUrl,
    databaseName: process.env.DEMO_DATABASE || 'powerschool_sync_demo',
    simulator: { students: STUDENTS, seed: 42, malformedShare: 0.01 },
    apiPort: Number(process.env.PORT) || 3000,
    temporalPort: Number(process.env.TEMPORAL_PORT) || 7233,
    temporalUiPort: Number(process.env.TEMPORAL_UI_PORT) || 8233,
  }).catch(async (err: unknown) => {
    await postgres.embedded?.stop();
    throw err;
  });
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nShutting down…');
    await stack.stop();
    await postgres.embedded?.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    say(`  Temporal UI        ${stack.temporal.uiUrl}`);
    say(`  API                ${stack.apiUrl} (docs ${stack.apiUrl}/docs)`);
    say(`  PowerSchool (sim)  ${stack.simulator.url} with ${STUDENTS} students across grades -2…12`);
    say(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    step('1. Store the settings of a demo school (test run on, grades 9–12, notifications on)');
    await stack.api('PUT', `/v1/schools/${SCHOOL}/integration`, {
      powerschool: {
        serverUrl: stack.simulator.url,
        clientId: stack.simulator.clientId,
        clientSecret: stack.simulator.clientSecret,
      },
      active: true,
      testRun: true,
      notifications: { enabled: true, recipients: ['counselor@demo-school.example'] },
      grades: { from: 9, to: 12 },
      mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: true },
      schedule: { cron: '0 2 * * 0', timezone: 'Asia/Singapore' },
    });
    const integration = await stack.api<{ schedule: { nextRunAt: string | null } }>(
      'GET',
      `/v1/schools/${SCHOOL}/integration`,
    );
    say(`  saved; weekly schedule, next run at ${integration.schedule.nextRunAt}`);
    const probe = await stack.api<{ studentsInScope: number }>(
      'POST',
      `/v1/schools/${SCHOOL}/integration/test-connection`,
    );
    say(`  test-connection: ok, ${probe.studentsInScope} students in scope`);
    await importExistingAccounts(stack, SCHOOL);

    step('2. Trigger a test run: a preview of what a commit would do');
    const preview = await runAndWatch(stack, true);
    say('  sample of the preview:');
    await sampleChanges(stack, preview, 'create', 3);
    say(
      `  ${preview.counts.linked} existing accounts would be linked, ${preview.counts.needsReview} records need a review:`,
    );
    await showLinks(stack, SCHOOL, preview.id, 3);
    const { issues } = await stack.api<{ issues: { dcid: string; field: string; code: string; message: string }[] }>(
      'GET',
      `/v1/schools/${SCHOOL}/runs/${encodeURIComponent(preview.id)}/issues?limit=3`,
    );
    for (const i of issues) say(`    ! dcid ${i.dcid}: ${i.field} ${i.code} — ${i.message}`);

    step('3. Turn test run off and trigger again: commit');
    await stack.api('PUT', `/v1/schools/${SCHOOL}/integration`, {
      powerschool: { serverUrl: stack.simulator.url, clientId: stack.simulator.clientId },
      active: true,
      testRun: false,
      notifications: { enabled: true, recipients: ['counselor@demo-school.example'] },
      grades: { from: 9, to: 12 },
      mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: true },
      schedule: { cron: '0 2 * * 0', timezone: 'Asia/Singapore' },
    });
    const commit = await runAndWatch(stack, false);
    await resolveOneReview(stack, SCHOOL);

    step('4. Change PowerSchool: 3 renames, 1 new student, 1 leaving; then sync again');
    const inScope = stack.simulator.students.inScope(9, 12).filter((s) => s.first_name && s.last_name);
    for (const s of inScope.slice(0, 3)) {
      stack.simulator.students.update(s.dcid, { last_name: `${s.last_name}-Rivera` });
    }
    const added = stack.simulator.students.add({ grade_level: 10, enroll_status: 0 });
    const leaving = inScope[inScope.length - 1]!;
    stack.simulator.students.update(leaving.dcid, { enroll_status: 2 }); // transferred out
    say(`  renamed 3, added dcid ${added.dcid}, transferred out dcid ${leaving.dcid}`);
    const incremental = await runAndWatch(stack, false);
    await sampleChanges(stack, incremental, 'update', 3);
    await sampleChanges(stack, incremental, 'create', 1);
    await showLinks(stack, SCHOOL, incremental.id, 1);

    const [districtCommit, rollover] = await districtStory(stack, say, step);

    step('8. What went out, and where to look');
    const emails = await listOutboxEmails(stack.db, SCHOOL);
    say(`  ${emails.length} emails in the outbox (no RESEND_API_KEY set, so they were not sent):`);
    for (const e of emails) say(`    to ${e.to.join(', ')}: ${e.subject}`);
    if (emails[emails.length - 1]) {
      say('  the last one reads:');
      for (const line of emails[emails.length - 1]!.text.split('\n').slice(0, 14)) say(`    | ${line}`);
    }
    say('  runs in the Temporal UI:');
    for (const [label, run] of [
      ['test run', preview],
      ['commit', commit],
      ['incremental', incremental],
      ['district', districtCommit!],
      ['rollover', rollover!],
    ] as const) {
      say(`    ${label.padEnd(12)} ${run.temporal.uiUrl}`);
    }
    say(
      `  all of this school's runs: ${stack.temporal.uiUrl}/namespaces/default/workflows?query=SchoolId%3D%22${SCHOOL}%22`,
    );
    say(`  API docs: ${stack.apiUrl}/docs`);
    say('  try it:');
    say(
      `    curl -s -H 'Authorization: Bearer ${stack.apiToken}' ${stack.apiUrl}/v1/schools/${SCHOOL}/students?limit=3`,
    );
    say(`\nDemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  } catch (err) {
    console.error(`\nDemo failed: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(1);
    return;
  }

  if (once) await shutdown(0);
  else say('Everything stays up for exploring. Ctrl-C to stop.');
}

await main().catch((err: unknown) => {
  console.error(`\nDemo failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
