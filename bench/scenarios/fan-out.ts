import type { ApiProcess } from '../lib/api.js';
import type { BenchContext } from '../lib/env.js';
import { assertCheck, checkStudents } from '../lib/expected.js';
import { putSchool, waitForRun } from '../lib/runs.js';
import { cpuAccount } from './full-sync.js';
import type { SimulatorProcess } from '../lib/simulator.js';
import { percentile } from '../lib/stats.js';
import type { WorkerProcess } from '../lib/worker.js';

/**
 * Scenario 3: many schools triggered at once on one worker. Every school reads the same simulator
 * (its own integration, its own token cache entry, its own run slot); all runs must succeed and
 * every school must end with exactly the simulator's in-scope students.
 */

export interface FanOutResult {
  schools: number;
  studentsPerSchool: number;
  pageSize: number;
  /** First POST sent → last result received, seconds. */
  totalSeconds: number;
  /** Sum of students over all schools / total seconds. */
  studentsPerSecond: number;
  /** Per-run duration, the run row's started_at → finished_at, seconds. */
  runSeconds: { p50: number; p95: number; max: number; min: number };
  /** POST /runs latency while all schools were triggered at once, seconds. */
  triggerSeconds: { p50: number; p95: number; max: number };
  /** VmHWM over the fan-out only (reset at its start, when permitted). */
  workerPeakRssMb: number;
  peakIsFanOutOnly: boolean;
  workerCpuSeconds: number;
  cpuSeconds: Record<string, number>;
  checkedStudents: number;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export async function fanOut(
  ctx: BenchContext,
  api: ApiProcess,
  worker: WorkerProcess,
  sim: SimulatorProcess,
  opts: { schools: number; prefix: string },
): Promise<FanOutResult> {
  const inScope = await sim.inScopeStudents();
  const schools = Array.from({ length: opts.schools }, (_, i) => `${opts.prefix}-${String(i + 1).padStart(3, '0')}`);
  await inBatches(schools, 10, (school) => putSchool(api, school, sim));

  const peakIsFanOutOnly = worker.resetPeakRss();
  const cpu0 = worker.cpuSeconds();
  const account = cpuAccount(ctx, api, worker, sim);
  const started = performance.now();
  const triggerLatencies: number[] = [];
  const runs = await Promise.all(
    schools.map(async (school) => {
      const t0 = performance.now();
      const run = await api.call<{ id: string }>('POST', `/v1/schools/${school}/runs`, { testRun: false });
      triggerLatencies.push((performance.now() - t0) / 1000);
      return waitForRun(ctx.temporal, ctx.db, run.id, t0);
    }),
  );
  const totalSeconds = (performance.now() - started) / 1000;
  const workerCpuSeconds = worker.cpuSeconds() - cpu0;
  const cpuSeconds = account.diff();

  const failed = runs.filter((r) => r.status !== 'succeeded' || r.result.status !== 'succeeded');
  if (failed.length > 0)
    throw new Error(
      `fan-out: ${failed.length} of ${runs.length} runs did not succeed (first: ${failed[0]!.runId} ${failed[0]!.status})`,
    );
  let checkedStudents = 0;
  await inBatches(schools, 4, async (school) => {
    const check = await checkStudents(ctx.db, 'students', school, inScope);
    assertCheck(`fan-out school ${school}`, check);
    checkedStudents += check.actual;
  });
  const durations = runs.map((r) => r.rowSeconds);
  return {
    schools: opts.schools,
    studentsPerSchool: inScope.length,
    pageSize: sim.maxPageSize,
    totalSeconds,
    studentsPerSecond: (opts.schools * inScope.length) / totalSeconds,
    runSeconds: {
      p50: percentile(durations, 50),
      p95: percentile(durations, 95),
      max: Math.max(...durations),
      min: Math.min(...durations),
    },
    triggerSeconds: {
      p50: percentile(triggerLatencies, 50),
      p95: percentile(triggerLatencies, 95),
      max: Math.max(...triggerLatencies),
    },
    workerPeakRssMb: worker.peakRssMb(),
    peakIsFanOutOnly,
    workerCpuSeconds,
    cpuSeconds,
    checkedStudents,
  };
}
