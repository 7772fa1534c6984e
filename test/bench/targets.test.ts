import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../bench/report.js';
import { costCurve, evaluateTargets } from '../../bench/lib/targets.js';
import type { SuiteResults } from '../../bench/suite.js';

/** The targets' thresholds and figures on made-up results (the smoke test runs the real suite). */

const run = (students: number, seconds: number, workerPeakRssMb = 300) => ({
  students,
  seconds,
  studentsPerSecond: students / seconds,
  workerPeakRssMb,
  peakIsRunOnly: true,
});

function results(over: { huge?: ReturnType<typeof run>; smallPeak?: number; largePeak?: number } = {}): SuiteResults {
  const endpoint = (api: number, bare: number) => ({
    api: { requestsPerSecond: api },
    bare: { requestsPerSecond: bare },
    ratio: api / bare,
  });
  const r = {
    fullSync: run(100_000, 10, over.largePeak ?? 350),
    baseline: run(100_000, 8),
    noChange: { ...run(100_000, 5), rowsRewritten: 0, zeroRowsWritten: true, changesRecorded: 0 },
    rounds: { fullSyncSeconds: [11, 10, 12], baselineSeconds: [8, 8, 8], noChangeSeconds: [5, 5, 5] },
    memory: { large: run(100_000, 10, over.largePeak ?? 350), small: run(10_000, 1.5, over.smallPeak ?? 300) },
    fanOut: {
      schools: 200,
      studentsPerSchool: 500,
      triggerSeconds: { p50: 0.12, p95: 0.2, max: 0.25 },
      workerPeakRssMb: 400,
      peakIsFanOutOnly: true,
      totalSeconds: 30,
    },
    api: { endpoints: { runs: endpoint(800, 1000), students: endpoint(790, 1000) } },
    ...(over.huge ? { huge: over.huge } : {}),
  };
  return r as unknown as SuiteResults;
}

const byName = (r: SuiteResults) => new Map(evaluateTargets(r).map((t) => [t.name, t]));

describe('evaluateTargets', () => {
  it('judges each target at its threshold and carries the figures behind it', () => {
    const t = byName(results());
    expect([...t.values()].map((x) => [x.name, x.met])).toEqual([
      ['S1 full sync of 100,000 / bare baseline', true], // 10 / 8 = 1.25
      ['S2 no-change re-sync / full sync', true], // 5 / 10 = 0.5, the threshold itself
      ['S2 student rows written by the re-sync', true],
      ['S3 fan-out 200 × 500: POST /runs p95', true], // 200 ms, the threshold itself
      ['S3 fan-out 200 × 500: worker peak RSS', false], // 400 MB is not under 400
      ['S4 GET …/runs: API / bare', true], // 0.8
      ['S4 GET …/students: API / bare', false], // 0.79
      ['S5: worker peak RSS (100,000) − (10,000)', true], // 350 − 300 = 50
    ]);
    const s1 = t.get('S1 full sync of 100,000 / bare baseline')!;
    expect(s1.value).toBe(1.25);
    expect(s1.detail).toBe('pipeline 10 s (10,000 students/s); baseline 8 s (12,500 students/s)');
    expect(s1.figures).toEqual({
      pipelineSeconds: 10,
      pipelineStudentsPerSecond: 10_000,
      baselineSeconds: 8,
      baselineStudentsPerSecond: 12_500,
    });
    const p95 = t.get('S3 fan-out 200 × 500: POST /runs p95')!;
    expect(p95.detail).toBe('p50 120 ms, p95 200 ms; 800 req/s over the burst of 200'); // 200 POSTs answered within 250 ms
    expect(t.get('S4 GET …/students: API / bare')!.detail).toBe('API 790 req/s; bare 1,000 req/s');
    expect(t.get('S5: worker peak RSS (100,000) − (10,000)')!.detail).toBe('350 MB at 100,000; 300 MB at 10,000');
  });

  it('misses the memory target one MB past 50 MB of growth', () => {
    const t = byName(results({ largePeak: 351 }));
    expect(t.get('S5: worker peak RSS (100,000) − (10,000)')).toMatchObject({ value: 51, met: false });
  });

  it('adds the "flat to N" targets only with a --huge run', () => {
    expect([...byName(results()).keys()].some((n) => n.includes('flat'))).toBe(false);
    // 500,000 in 62.5 s: 125 µs per student against 100 µs at 100,000, exactly 1.25×.
    const flat = byName(results({ huge: run(500_000, 62.5, 350) }));
    expect(flat.get('S5 flat to 500,000: worker peak RSS (500,000) − (10,000)')).toMatchObject({
      value: 50,
      met: true,
      threshold: '≤ 50 MB',
    });
    expect(flat.get('S5 flat to 500,000: time per student at 500,000 / at 100,000')).toMatchObject({
      value: 1.25,
      met: true,
      threshold: '≤ 1.25× (our reading of "flat")',
      detail: '125 µs/student (62.5 s) at 500,000; 100 µs/student (10 s) at 100,000',
    });
    const slow = byName(results({ huge: run(500_000, 63, 351) }));
    expect(slow.get('S5 flat to 500,000: time per student at 500,000 / at 100,000')!.met).toBe(false);
    expect(slow.get('S5 flat to 500,000: worker peak RSS (500,000) − (10,000)')!.met).toBe(false);
  });
});

describe('the cost curve', () => {
  it('is 10k → 100k without --huge, and goes on to the huge size with it', () => {
    expect(costCurve(results()).map((p) => [p.students, p.microsecondsPerStudent, p.workerPeakRssMb])).toEqual([
      [10_000, 150, 300],
      [100_000, 100, 350],
    ]);
    const curve = costCurve(results({ huge: run(500_000, 60, 380) }));
    expect(curve.map((p) => [p.students, p.seconds, p.studentsPerSecond, p.workerPeakRssMb])).toEqual([
      [10_000, 1.5, 10_000 / 1.5, 300],
      [100_000, 10, 10_000, 350],
      [500_000, 60, 500_000 / 60, 380],
    ]);
  });
});

describe('bench/readme-table.ts', () => {
  it('prints the targets and the cost curve as markdown from a results file', async () => {
    const r = results({ huge: run(500_000, 60, 380) });
    const file = { targets: evaluateTargets(r), costCurve: costCurve(r) };
    const path = join(mkdtempSync(join(tmpdir(), 'pss-readme-table-')), 'results.json');
    writeFileSync(path, JSON.stringify(file));
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'bench/readme-table.ts', path]);
    expect(stdout.trimEnd()).toBe(renderMarkdown(file));
    const lines = stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '| target | threshold | measured | absolute figures | result |',
      '|---|---|---|---|---|',
      '| S1 full sync of 100,000 / bare baseline | ≤ 1.5× | 1.25× | pipeline 10 s (10,000 students/s); baseline 8 s (12,500 students/s) | MET |',
    ]);
    expect(lines).toContain(
      '| S3 fan-out 200 × 500: worker peak RSS | < 400 MB | 400 MB | peak 400 MB; all 200 runs in 30 s | MISSED |',
    );
    expect(lines.slice(-4)).toEqual([
      '|---|---|---|---|---|---|',
      '| 10,000 | 1.5 | 150 | 6,667 | 300 | scenario 5: one run on a fresh worker |',
      '| 100,000 | 10 | 100 | 10,000 | 350 | scenario 1: median of 3 rounds; peak: the highest round |',
      '| 500,000 | 60 | 120 | 8,333 | 380 | --huge: one run on a fresh worker |',
    ]);
  });
});
