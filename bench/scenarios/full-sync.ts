import { sql } from 'kysely';
import type { ApiProcess } from '../lib/api.js';
import type { BenchContext } from '../lib/env.js';
import { assertCheck, checkStudents, type CheckResult } from '../lib/expected.js';
import { CpuAccount } from '../lib/proc.js';
import { activityTimings, putSchool, triggerAndWait, type ActivityTiming } from '../lib/runs.js';
import type { SimulatorProcess } from '../lib/simulator.js';
import type { WorkerProcess } from '../lib/worker.js';

/**
 * Scenario 1 (full sync, commit) and scenario 2 (the same sync again with nothing changed) of one
 * school, on a worker child process whose memory is read right after scenario 1 (scenario 5).
 */

export interface RunFigures {
  runId: string;
  students: number;
  seconds: number;
  studentsPerSecond: number;
  counts: Record<string, number>;
  /** Where the time went, per activity type (from the workflow history). */
  activities: Record<string, ActivityTiming>;
  workerCpuSeconds: number;
  /** CPU seconds used during the run, by process (ours, PostgreSQL, everything else on the machine). */
  cpuSeconds: Record<string, number>;
  check: CheckResult;
}

export function cpuAccount(ctx: BenchContext, api: ApiProcess, worker: WorkerProcess, sim: SimulatorProcess) {
  return new CpuAccount({
    worker: worker.pid,
    simulator: sim.process.pid,
    api: api.pid,
    ...(ctx.temporalPid ? { 'temporal server': ctx.temporalPid } : {}),
  });
}

export interface FullSyncResult extends RunFigures {
  pageSize: number;
  pages: number;
  /** Worker RSS just before the trigger (after start-up and any earlier run), MB. */
  workerRssBeforeMb: number;
  /** VmHWM over the run (reset just before the trigger; whole life if the reset was refused), MB. */
  workerPeakRssMb: number;
  peakIsRunOnly: boolean;
  /** Highest VmRSS sampled every 200 ms during the run, MB. */
  workerSampledPeakRssMb: number;
}

export async function fullSync(
  ctx: BenchContext,
  api: ApiProcess,
  worker: WorkerProcess,
  sim: SimulatorProcess,
  schoolId: string,
  inScope: Awaited<ReturnType<SimulatorProcess['inScopeStudents']>>,
): Promise<FullSyncResult> {
  await putSchool(api, schoolId, sim);
  const workerRssBeforeMb = worker.rssMb();
  const peakIsRunOnly = worker.resetPeakRss();
  const cpu0 = worker.cpuSeconds();
  const stopSampling = worker.sampleRss();
  const account = cpuAccount(ctx, api, worker, sim);
  const run = await triggerAndWait(api, ctx.temporal, ctx.db, schoolId);
  const cpuSeconds = account.diff();
  const sampledPeak = stopSampling();
  const workerPeakRssMb = worker.peakRssMb();
  const workerCpuSeconds = worker.cpuSeconds() - cpu0;
  if (run.status !== 'succeeded' || run.result.status !== 'succeeded')
    throw new Error(`full sync: run ${run.runId} ended ${run.status}`);
  const counts = run.result.counts as unknown as Record<string, number>;
  if (counts.created !== inScope.length || counts.fetched !== inScope.length)
    throw new Error(`full sync: counts ${JSON.stringify(counts)}, expected ${inScope.length} created`);
  const check = await checkStudents(ctx.db, 'students', schoolId, inScope);
  assertCheck('full sync', check);
  const activities = await activityTimings(ctx.temporal, run.runId);
  // One fetchPage activity reads several pages: the run row counts the pages themselves.
  const { pages_fetched: pages } = await ctx.db
    .selectFrom('runs')
    .select('pages_fetched')
    .where('id', '=', run.runId)
    .executeTakeFirstOrThrow();
  return {
    runId: run.runId,
    students: inScope.length,
    seconds: run.wallSeconds,
    studentsPerSecond: inScope.length / run.wallSeconds,
    counts,
    activities,
    workerCpuSeconds,
    cpuSeconds,
    check,
    pageSize: sim.maxPageSize,
    pages,
    workerRssBeforeMb,
    workerPeakRssMb,
    peakIsRunOnly,
    workerSampledPeakRssMb: sampledPeak,
  };
}

export interface NoChangeResult extends RunFigures {
  /** Student rows with a new row version (xmin changed) after the run: any INSERT or UPDATE. */
  rowsRewritten: number;
  /** Student rows whose updated_at moved (a content update). */
  rowsContentUpdated: number;
  /** Student rows inserted (count after − count before). */
  rowsInserted: number;
  /** run_changes rows the run recorded (creates + updates). */
  changesRecorded: number;
  /** Zero student rows written: no new row versions at all. */
  zeroRowsWritten: boolean;
}

type Versions = Map<string, { xmin: string; updatedAt: string }>;

async function rowVersions(ctx: BenchContext, schoolId: string): Promise<Versions> {
  const { rows } = await sql<{ dcid: string; xmin: string; updated_at: string }>`
    select dcid::text as dcid, xmin::text as xmin, updated_at::text as updated_at
    from students where school_id = ${schoolId}`.execute(ctx.db);
  return new Map(rows.map((r) => [r.dcid, { xmin: r.xmin, updatedAt: r.updated_at }]));
}

export async function noChangeResync(
  ctx: BenchContext,
  api: ApiProcess,
  worker: WorkerProcess,
  sim: SimulatorProcess,
  schoolId: string,
  inScope: Awaited<ReturnType<SimulatorProcess['inScopeStudents']>>,
): Promise<NoChangeResult> {
  const before = await rowVersions(ctx, schoolId);
  const cpu0 = worker.cpuSeconds();
  const account = cpuAccount(ctx, api, worker, sim);
  const run = await triggerAndWait(api, ctx.temporal, ctx.db, schoolId);
  const cpuSeconds = account.diff();
  const workerCpuSeconds = worker.cpuSeconds() - cpu0;
  if (run.status !== 'succeeded' || run.result.status !== 'succeeded')
    throw new Error(`no-change re-sync: run ${run.runId} ended ${run.status}`);
  const counts = run.result.counts as unknown as Record<string, number>;
  if (counts.unchanged !== inScope.length || counts.created !== 0 || counts.updated !== 0)
    throw new Error(`no-change re-sync: counts ${JSON.stringify(counts)}, expected ${inScope.length} unchanged`);
  const after = await rowVersions(ctx, schoolId);
  let rowsRewritten = 0;
  let rowsContentUpdated = 0;
  for (const [dcid, v] of after) {
    const b = before.get(dcid);
    if (!b) continue;
    if (b.xmin !== v.xmin) rowsRewritten++;
    if (b.updatedAt !== v.updatedAt) rowsContentUpdated++;
  }
  const rowsInserted = after.size - before.size;
  const changes = await ctx.db
    .selectFrom('run_changes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('run_id', '=', run.runId)
    .executeTakeFirstOrThrow();
  const check = await checkStudents(ctx.db, 'students', schoolId, inScope);
  assertCheck('no-change re-sync', check);
  const activities = await activityTimings(ctx.temporal, run.runId);
  return {
    runId: run.runId,
    students: inScope.length,
    seconds: run.wallSeconds,
    studentsPerSecond: inScope.length / run.wallSeconds,
    counts,
    activities,
    workerCpuSeconds,
    cpuSeconds,
    check,
    rowsRewritten: rowsRewritten + rowsInserted,
    rowsContentUpdated,
    rowsInserted,
    changesRecorded: Number(changes.n),
    zeroRowsWritten: rowsRewritten === 0 && rowsInserted === 0,
  };
}
