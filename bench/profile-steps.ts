/**
 * Where a sync's time goes, step by step, without Temporal in between: the same activity code
 * the worker runs (beginRun, planRun, finishRun) and, for each page, the steps of fetchPage one
 * by one (activities/fetch-pages.ts), then the statements of the diff (db/queries/run-diff.ts,
 * timed through its onStep hook). Two runs of one school: a full sync, then a no-change re-sync.
 *
 *   npx tsx bench/profile-steps.ts [--students 100000] [--page-size 1000]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { createActivities } from '../activities/index.js';
import { normalisePage } from '../powerschool/normalise-page.js';
import { credentialsFor, loadRunContext, scopeOf, writeOptionsOf } from '../activities/run-context.js';
import { DEFAULT_DATABASE_URL, loadConfig } from '../config.js';
import { createDb } from '../db/connection.js';
import { dropDatabase } from '../db/migrate.js';
import { putIntegration } from '../db/queries/integrations.js';
import { diffRun } from '../db/queries/run-diff.js';
import { stagePage } from '../db/queries/staging.js';
import { OutboxEmailSender } from '../email/sender.js';
import { PowerSchoolClient } from '../powerschool/client.js';
import { SecretBox } from '../secrets/secret-box.js';
import { simulatorIntegration } from '../scripts/lib/simulator-integration.js';
import { freshDatabase } from './lib/env.js';
import { startSimulatorProcess } from './lib/simulator.js';

const { values } = parseArgs({
  options: { students: { type: 'string' }, 'page-size': { type: 'string' } },
});
const students = Number(values.students ?? 100_000);
const pageSize = Number(values['page-size'] ?? 1000);

class Steps {
  readonly totals = new Map<string, { ms: number; n: number }>();
  async time<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const t = this.totals.get(label) ?? { ms: 0, n: 0 };
      t.ms += performance.now() - t0;
      t.n++;
      this.totals.set(label, t);
    }
  }
  print(title: string, wallMs: number) {
    console.log(`\n${title}: ${(wallMs / 1000).toFixed(2)} s wall`);
    for (const [label, t] of this.totals)
      console.log(
        `  ${label.padEnd(28)} ${(t.ms / 1000).toFixed(3).padStart(8)} s  ×${String(t.n).padStart(4)}  ${(t.ms / t.n).toFixed(1).padStart(7)} ms each`,
      );
  }
}

const serverUrl = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
serverUrl.pathname = '/';
const databaseUrl = await freshDatabase(serverUrl.toString(), 'powerschool_sync_bench_profile');
const config = loadConfig(
  {
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    ALLOW_INSECURE_POWERSCHOOL: 'true',
    SECRETS_KEY: randomBytes(32).toString('base64'),
  },
  'worker',
);
const db = createDb(databaseUrl, { applicationName: 'bench-profile' });
const sim = await startSimulatorProcess({ students, maxPageSize: pageSize });
try {
  const box = new SecretBox(config.secretsKeys);
  const schoolId = 'profile-school';
  const sealed = box.seal(sim.clientSecret, schoolId);
  // Once a year on 1 January: the schedule never fires while the profile runs.
  const integration = simulatorIntegration(sim, { cron: '0 2 1 1 *', timezone: 'UTC' });
  await putIntegration(db, schoolId, integration, sealed);
  const logger = pino({ level: 'silent' });
  const deps = { db, config, secretBox: box, emailSender: new OutboxEmailSender(db, logger), logger };
  // The activities run outside a worker here: Temporal's mock environment gives them their context.
  const env = new MockActivityEnvironment();
  const created = createActivities(deps);
  const activities = {
    beginRun: (input: Parameters<typeof created.beginRun>[0]) =>
      env.run(created.beginRun, input) as ReturnType<typeof created.beginRun>,
    planRun: (input: Parameters<typeof created.planRun>[0]) =>
      env.run(created.planRun, input) as ReturnType<typeof created.planRun>,
    finishRun: (input: Parameters<typeof created.finishRun>[0]) =>
      env.run(created.finishRun, input) as ReturnType<typeof created.finishRun>,
    fetchPage: (input: Parameters<typeof created.fetchPage>[0]) =>
      env.run(created.fetchPage, input) as ReturnType<typeof created.fetchPage>,
  };

  for (const label of ['full sync', 'no-change re-sync']) {
    const steps = new Steps();
    const runId = `profile-${label.replace(/\W+/g, '-')}-${Date.now()}`;
    const t0 = performance.now();
    await steps.time('beginRun', () =>
      activities.beginRun({ runId, temporalRunId: 'x', schoolId, trigger: 'manual', testRun: false }),
    );
    const plan = await steps.time('planRun', () => activities.planRun({ runId }));
    for (let page = 1, after: string | null = null; ; page++) {
      // fetchPage, step by step (activities/fetch-pages.ts makeFetchPage)
      const ctx = await steps.time('page: loadRunContext', () => loadRunContext(db, runId));
      const creds = await steps.time('page: credentialsFor', () => credentialsFor(db, box, ctx));
      const source = new PowerSchoolClient({ credentials: creds, allowInsecure: true, maxAttempts: 2 });
      const rows = await steps.time('page: fetchStudentsAfter', () =>
        source.fetchStudentsAfter(scopeOf(ctx.settings), after, plan.pageSize),
      );
      const n = await steps.time('page: normalisePage', () => normalisePage(rows, ctx.settings, page));
      after = n.lastDcid;
      await steps.time('page: stagePage', () => stagePage(db, runId, page, n.students, n.issues));
      if (rows.length < plan.pageSize) break;
    }
    const ctx = await loadRunContext(db, runId);
    // diffRun's steps in order (db/queries/run-diff.ts), as applyRun calls it: with the run's scope,
    // so departures are looked for; no hold check (the benchmark school is not held).
    const names = [
      'diff: recordMatchDecisions',
      'diff: recordChanges + recordPossibleDuplicates',
      'diff: recordDepartChanges',
      'diff: hold check',
      'diff: applyCreates',
      'diff: applyUpdates',
      'diff: applyLinks + openReviews',
      'diff: applyDepartChanges',
      'diff: recordDepartures',
    ];
    let last = performance.now();
    let i = 0;
    const tDiff = performance.now();
    const counts = await diffRun(db, {
      ...writeOptionsOf(ctx),
      scope: scopeOf(ctx.settings),
      mode: 'commit',
      onStep: () => {
        const now = performance.now();
        steps.totals.set(names[i++] ?? `diff: step ${i}`, { ms: now - last, n: 1 });
        last = now;
      },
    });
    steps.totals.set('diff: countRun + commit', { ms: performance.now() - last, n: 1 });
    steps.totals.set('applyRun (diff total)', { ms: performance.now() - tDiff, n: 1 });
    await steps.time('finishRun', () => activities.finishRun({ runId, status: 'succeeded' }));
    steps.print(
      `${label} of ${students} students, page size ${pageSize} (counts ${JSON.stringify(counts)})`,
      performance.now() - t0,
    );
  }

  // The steps above one after another, against the fetchPage activity itself, which reads the
  // next page and validates it while the current one is staged: what that overlap saves.
  const activitySchool = `${schoolId}-activity`;
  await putIntegration(db, activitySchool, integration, box.seal(sim.clientSecret, activitySchool));
  const runId = `profile-activity-${Date.now()}`;
  await activities.beginRun({
    runId,
    temporalRunId: 'x',
    schoolId: activitySchool,
    trigger: 'manual',
    testRun: false,
  });
  const plan = await activities.planRun({ runId });
  const t0 = performance.now();
  let pages = 0;
  for (
    let at: { page: number | null; afterDcid: string | null; pass: number } = { page: 1, afterDcid: null, pass: 0 };
    at.page !== null;
  ) {
    const r = await activities.fetchPage({
      runId,
      page: at.page,
      pageSize: plan.pageSize,
      afterDcid: at.afterDcid,
      pass: at.pass,
      maxPages: 1000,
      budgetMs: 60_000,
    });
    pages += r.pagesRead;
    at = { page: r.nextPage, afterDcid: r.lastDcid, pass: r.pass ?? 0 };
  }
  const ms = performance.now() - t0;
  console.log(
    `\nfetchPage activity, full sync: ${pages} pages in ${(ms / 1000).toFixed(3)} s (${(ms / pages).toFixed(1)} ms a page)`,
  );
} finally {
  await sim.stop();
  await db.destroy();
  await dropDatabase(databaseUrl).catch(() => {});
}
