import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropDatabase } from '../../db/migrate.js';
import { freshDatabase, newBenchEnv, type BenchEnv } from '../../bench/lib/env.js';
import { buildResults, describeMachine, LoadSampler, printTable, renderMarkdown } from '../../bench/report.js';
import { runSuite, type BenchSizes } from '../../bench/suite.js';
import { testEnv } from '../helpers/env.js';

/**
 * The benchmark's code at tiny sizes, so it cannot rot: every scenario runs (children, API,
 * worker, simulator, baseline, autocannon, bare server) and its correctness checks must pass.
 * Timings are not asserted: this machine is shared and the sizes are far too small to mean anything.
 */

const TINY: BenchSizes = {
  students: 200,
  rounds: 1,
  pageSize: 50,
  defaultPageSize: 20,
  memoryStudents: 60,
  fanOutSchools: 3,
  fanOutStudents: 20,
  fanOutPageSize: 10,
  apiConnections: 2,
  apiSeconds: 1,
  apiWarmupSeconds: 0,
  hugeStudents: 300,
};

describe('npm run bench at tiny sizes', () => {
  let env: BenchEnv;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await freshDatabase(
      testEnv.postgresServerUrl,
      `pss_bench_smoke_${process.pid}_${Date.now().toString(36)}`,
    );
    env = newBenchEnv({
      temporalAddress: testEnv.temporalAddress,
      temporalUiUrl: testEnv.temporalUiUrl,
      databaseUrl,
      log: () => {},
    });
  });

  afterAll(async () => {
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  it('runs every scenario with its correctness checks passing', { timeout: 180_000 }, async () => {
    const startedAt = new Date();
    const load = new LoadSampler();
    const r = await runSuite(env, TINY);

    expect(r.baseline.check).toMatchObject({ ok: true, expected: 200, actual: 200, mismatches: 0 });
    expect(r.fullSync.check).toMatchObject({ ok: true, expected: 200, actual: 200, mismatches: 0 });
    expect(r.fullSync.counts).toMatchObject({ fetched: 200, created: 200, updated: 0, invalid: 0 });
    expect(r.fullSync.pages).toBe(5); // 4 full pages of 50, then the empty page that ends the read
    expect(r.noChange.check.ok).toBe(true);
    expect(r.noChange.counts).toMatchObject({ created: 0, updated: 0, unchanged: 200 });
    expect(r.noChange.changesRecorded).toBe(0);
    expect(r.noChange.rowsContentUpdated).toBe(0);
    expect(r.noChange.rowsInserted).toBe(0);
    expect(r.rounds.fullSyncSeconds).toHaveLength(1);
    expect(r.defaultPages).toMatchObject({ students: 200, pageSize: 20, pages: 11 });
    expect(r.defaultPages?.check.ok).toBe(true);
    expect(r.memory.small.check).toMatchObject({ ok: true, expected: 60, actual: 60 });
    expect(r.memory.large.workerPeakRssMb).toBeGreaterThan(0);
    expect(r.memory.small.workerPeakRssMb).toBeGreaterThan(0);
    expect(r.fanOut).toMatchObject({ schools: 3, studentsPerSchool: 20, checkedStudents: 60 });
    for (const name of ['runs', 'students'] as const) {
      const e = r.api.endpoints[name];
      expect(e.api.requests).toBeGreaterThan(0);
      expect(e.bare.requests).toBeGreaterThan(0);
      expect(e.api.non2xx + e.bare.non2xx).toBe(0);
    }

    expect(r.huge).toMatchObject({ students: 300, pageSize: 50, counts: { fetched: 300, created: 300 } });
    expect(r.huge?.check).toMatchObject({ ok: true, expected: 300, actual: 300, mismatches: 0 });
    expect(r.huge?.workerPeakRssMb).toBeGreaterThan(0);

    const file = buildResults(r, TINY, describeMachine('test', load.stop()), startedAt);
    expect(file.targets.map((t) => t.name)).toEqual([
      'S1 full sync of 200 / bare baseline',
      'S2 no-change re-sync / full sync',
      'S2 student rows written by the re-sync',
      'S3 fan-out 3 × 20: POST /runs p95',
      'S3 fan-out 3 × 20: worker peak RSS',
      'S4 GET …/runs: API / bare',
      'S4 GET …/students: API / bare',
      'S5: worker peak RSS (200) − (60)',
      'S5 flat to 300: worker peak RSS (300) − (60)',
      'S5 flat to 300: time per student at 300 / at 200',
    ]);
    expect(file.costCurve.map((p) => [p.students, p.seconds])).toEqual([
      [60, r.memory.small.seconds],
      [200, r.fullSync.seconds],
      [300, r.huge!.seconds],
    ]);
    expect(file.costCurve[2]!.workerPeakRssMb).toBe(r.huge!.workerPeakRssMb);
    const lines: string[] = [];
    printTable(file, (line) => lines.push(line));
    expect(lines.join('\n')).toContain('1c full sync (--huge)');
    expect(lines.filter((l) => /^ {2}(MET {3}|MISSED) S\d.* — /.test(l))).toHaveLength(10);
    expect(lines.join('\n')).toContain('pipeline / baseline');
    expect(lines.join('\n')).toMatch(
      /^Load average \(1 \/ 5 \/ 15 min\) on \d+ CPUs: at start .+; at end .+; 1-minute/m,
    );
    const written = JSON.parse(JSON.stringify(file));
    expect(written.scenarios.fullSync.students).toBe(200);
    // The README's tables come from results.json alone.
    expect(renderMarkdown(written)).toBe(renderMarkdown(file));
    expect(renderMarkdown(written).split('\n')).toHaveLength(2 + 10 + 1 + 2 + 3);
    expect(written.machine.loadAverage).toMatchObject({
      atStart: [expect.any(Number), expect.any(Number), expect.any(Number)],
      atEnd: [expect.any(Number), expect.any(Number), expect.any(Number)],
      oneMinute: { everySeconds: 5, samples: expect.any(Number) },
    });
    expect(written.machine.note).not.toMatch(/engineers|test suites/);
  });
});

describe('the load average in bench/results.json', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is os.loadavg() measured at the start, at the end and sampled in between', () => {
    vi.useFakeTimers();
    let calls = 0;
    const read = () => {
      calls++;
      return [calls, 10 * calls, 100 * calls];
    };
    const sampler = new LoadSampler(read, 5_000);
    vi.advanceTimersByTime(15_000); // three samples
    expect(calls).toBe(4);
    expect(sampler.stop()).toEqual({
      atStart: [1, 10, 100],
      atEnd: [5, 50, 500],
      oneMinute: { everySeconds: 5, samples: 5, min: 1, mean: 3, max: 5 },
    });
    vi.advanceTimersByTime(60_000);
    expect(calls).toBe(5); // stopped: no reading after stop()
  });
});
