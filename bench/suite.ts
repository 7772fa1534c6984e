import type { ApiLoadResult } from './scenarios/api-load.js';
import { apiLoad } from './scenarios/api-load.js';
import { runBaseline, type BaselineResult } from './scenarios/baseline.js';
import { fanOut, type FanOutResult } from './scenarios/fan-out.js';
import { fullSync, noChangeResync, type FullSyncResult, type NoChangeResult } from './scenarios/full-sync.js';
import { startApiProcess } from './lib/api.js';
import { openContext, profileArgs, type BenchContext, type BenchEnv } from './lib/env.js';
import { startSimulatorProcess } from './lib/simulator.js';
import { startWorkerProcess } from './lib/worker.js';

/**
 * The five scenarios, in order, on one environment, then the --huge full sync when sizes ask for
 * it. run.ts calls this with the sizes; test/bench/bench-smoke.test.ts with tiny ones
 * (correctness checks, not timings).
 */

export interface BenchSizes {
  /** Scenario 1/2: students in scope of the big school. */
  students: number;
  /** Scenario 1 (with its baseline) and 2 are repeated this many times; the median round is reported. */
  rounds: number;
  /** Simulator's maximum (= default) page size for scenarios 1, 2 and 5. */
  pageSize: number;
  /** Scenario 1 once more at PowerSchool's default maximum page size (100); 0 skips it. */
  defaultPageSize: number;
  /** Scenario 5: the same full sync at this size, for the memory comparison. */
  memoryStudents: number;
  fanOutSchools: number;
  fanOutStudents: number;
  fanOutPageSize: number;
  apiConnections: number;
  apiSeconds: number;
  apiWarmupSeconds: number;
  /** --huge: one more full sync at this size, last, on a fresh worker (its own simulator and school); 0 skips it. */
  hugeStudents: number;
}

export const FULL_SIZES: BenchSizes = {
  students: 100_000,
  rounds: 3,
  pageSize: 1000,
  defaultPageSize: 100,
  memoryStudents: 10_000,
  fanOutSchools: 200,
  fanOutStudents: 500,
  fanOutPageSize: 100,
  apiConnections: 50,
  apiSeconds: 10,
  apiWarmupSeconds: 2,
  hugeStudents: 0,
};

export interface SuiteResults {
  /** The median round of each (by time); every round is in `rounds`. */
  fullSync: FullSyncResult;
  baseline: BaselineResult;
  noChange: NoChangeResult;
  rounds: { fullSyncSeconds: number[]; baselineSeconds: number[]; noChangeSeconds: number[] };
  /** Scenario 1 at PowerSchool's default page size (not a target: how much page size matters). */
  defaultPages?: FullSyncResult;
  memory: { large: FullSyncResult; small: FullSyncResult };
  fanOut: FanOutResult;
  api: ApiLoadResult;
  /** The --huge full sync (absent without it). */
  huge?: FullSyncResult;
}

/** The middle element by `key` (the lower middle for an even count). */
function median<T>(items: T[], key: (t: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function withWorker<T>(
  ctx: BenchContext,
  name: string,
  fn: (w: Awaited<ReturnType<typeof startWorkerProcess>>) => Promise<T>,
) {
  const worker = await startWorkerProcess(ctx, ctx.temporal, {
    nodeArgs: [...(ctx.workerNodeArgs ?? []), ...profileArgs(ctx, name)],
  });
  try {
    return await fn(worker);
  } finally {
    await worker.stop();
  }
}

async function withSimulator<T>(
  opts: { students: number; maxPageSize: number },
  fn: (s: Awaited<ReturnType<typeof startSimulatorProcess>>) => Promise<T>,
) {
  const sim = await startSimulatorProcess(opts);
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

/**
 * `--only api`: scenario 4 alone, on the big school seeded by one full sync (no baseline, no
 * timings of the sync itself), for measuring the API's list endpoints quickly.
 */
export async function runApiOnly(env: BenchEnv, sizes: BenchSizes): Promise<ApiLoadResult> {
  const ctx = await openContext(env);
  const api = await startApiProcess(env, profileArgs(env, 'api'));
  try {
    const big = `bench-full-${sizes.students}`;
    env.log(`[seed] full sync of ${sizes.students} students for the API load …`);
    await withSimulator({ students: sizes.students, maxPageSize: sizes.pageSize }, async (sim) =>
      withWorker(ctx, 'worker-sync', async (worker) =>
        fullSync(ctx, api, worker, sim, big, await sim.inScopeStudents()),
      ),
    );
    env.log(`[4] API load: ${sizes.apiConnections} connections, ${sizes.apiSeconds} s per target …`);
    return await apiLoad(ctx, api, {
      schoolId: big,
      connections: sizes.apiConnections,
      durationSeconds: sizes.apiSeconds,
      warmupSeconds: sizes.apiWarmupSeconds,
    });
  } finally {
    await api.stop();
    await ctx.close();
  }
}

export async function runSuite(env: BenchEnv, sizes: BenchSizes): Promise<SuiteResults> {
  const ctx = await openContext(env);
  const log = env.log;
  const api = await startApiProcess(env, profileArgs(env, 'api'));
  try {
    const big = `bench-full-${sizes.students}`;
    const {
      fullSync: s1,
      baseline,
      noChange,
      rounds,
      largePeak,
      defaultPages,
    } = await withSimulator({ students: sizes.students, maxPageSize: sizes.pageSize }, async (sim) => {
      const inScope = await sim.inScopeStudents();
      log(`  simulator: ${inScope.length} students in scope, page size ${sim.maxPageSize}`);
      return withWorker(ctx, 'worker-sync', async (worker) => {
        const baselines: BaselineResult[] = [];
        const fulls: FullSyncResult[] = [];
        const noChanges: NoChangeResult[] = [];
        for (let round = 1; round <= sizes.rounds; round++) {
          // Each round is a new school, so each full sync starts from no students.
          const school = round === 1 ? big : `${big}-r${round}`;
          log(`[1] round ${round}/${sizes.rounds}: baseline (plain script, same client and pages, unnest upsert) …`);
          const b = await runBaseline({ db: ctx.db, databaseUrl: env.databaseUrl, sim, schoolId: school, inScope });
          baselines.push(b);
          log(`    ${b.seconds.toFixed(2)} s, check passed`);
          log(`[1] round ${round}: full sync of ${inScope.length} students through the API, Temporal and the worker …`);
          const f = await fullSync(ctx, api, worker, sim, school, inScope);
          fulls.push(f);
          log(`    ${f.seconds.toFixed(2)} s, check passed; worker peak ${f.workerPeakRssMb.toFixed(0)} MB`);
          log(`[2] round ${round}: no-change re-sync …`);
          const n = await noChangeResync(ctx, api, worker, sim, school, inScope);
          noChanges.push(n);
          log(`    ${n.seconds.toFixed(2)} s, ${n.rowsRewritten} student rows rewritten`);
        }
        const largest = fulls.reduce((a, b) => (b.workerPeakRssMb > a.workerPeakRssMb ? b : a));
        let defaultPages: FullSyncResult | undefined;
        if (sizes.defaultPageSize > 0) {
          log(
            `[1b] full sync of ${inScope.length} students at page size ${sizes.defaultPageSize} (PowerSchool's default) …`,
          );
          defaultPages = await withSimulator(
            { students: sizes.students, maxPageSize: sizes.defaultPageSize },
            async (other) =>
              fullSync(ctx, api, worker, other, `${big}-page${sizes.defaultPageSize}`, await other.inScopeStudents()),
          );
          log(`    ${defaultPages.seconds.toFixed(2)} s, check passed`);
        }
        return {
          fullSync: median(fulls, (r) => r.seconds),
          baseline: median(baselines, (r) => r.seconds),
          noChange: median(noChanges, (r) => r.seconds),
          rounds: {
            fullSyncSeconds: fulls.map((r) => r.seconds),
            baselineSeconds: baselines.map((r) => r.seconds),
            noChangeSeconds: noChanges.map((r) => r.seconds),
          },
          largePeak: largest,
          defaultPages,
        };
      });
    });

    // Scenario 5's small run gets a fresh worker (its peak is its own); the fan-out then reuses it.
    log(`[5] full sync at ${sizes.memoryStudents} students on a fresh worker (memory) …`);
    const { small, fan } = await withWorker(ctx, 'worker-small-fanout', async (worker) => {
      const small = await withSimulator({ students: sizes.memoryStudents, maxPageSize: sizes.pageSize }, async (sim) =>
        fullSync(ctx, api, worker, sim, `bench-memory-${sizes.memoryStudents}`, await sim.inScopeStudents()),
      );
      log(`    ${small.seconds.toFixed(2)} s, worker peak ${small.workerPeakRssMb.toFixed(0)} MB`);
      log(`[3] fan-out: ${sizes.fanOutSchools} schools × ${sizes.fanOutStudents} students at once, same worker …`);
      const fan = await withSimulator({ students: sizes.fanOutStudents, maxPageSize: sizes.fanOutPageSize }, (sim) =>
        fanOut(ctx, api, worker, sim, { schools: sizes.fanOutSchools, prefix: 'bench-fan' }),
      );
      log(`    ${fan.totalSeconds.toFixed(2)} s, all succeeded and checked`);
      return { small, fan };
    });

    log(`[4] API load: ${sizes.apiConnections} connections, ${sizes.apiSeconds} s per target …`);
    const apiResult = await apiLoad(ctx, api, {
      schoolId: big,
      connections: sizes.apiConnections,
      durationSeconds: sizes.apiSeconds,
      warmupSeconds: sizes.apiWarmupSeconds,
    });

    // Last, so its half a million rows are not in the table while the other scenarios are measured.
    let huge: FullSyncResult | undefined;
    if (sizes.hugeStudents > 0) {
      log(`[huge] full sync of ${sizes.hugeStudents} students on a fresh worker …`);
      huge = await withWorker(ctx, 'worker-huge', (worker) =>
        withSimulator({ students: sizes.hugeStudents, maxPageSize: sizes.pageSize }, async (sim) =>
          fullSync(ctx, api, worker, sim, `bench-huge-${sizes.hugeStudents}`, await sim.inScopeStudents()),
        ),
      );
      log(`    ${huge.seconds.toFixed(2)} s, check passed; worker peak ${huge.workerPeakRssMb.toFixed(0)} MB`);
    }
    return {
      fullSync: s1,
      baseline,
      noChange,
      rounds,
      ...(defaultPages ? { defaultPages } : {}),
      memory: { large: largePeak, small },
      fanOut: fan,
      api: apiResult,
      ...(huge ? { huge } : {}),
    };
  } finally {
    await api.stop();
    await ctx.close();
  }
}
