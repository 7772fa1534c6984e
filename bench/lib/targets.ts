import type { FullSyncResult } from '../scenarios/full-sync.js';
import type { SuiteResults } from '../suite.js';
import { fmt } from './stats.js';

/**
 * The targets, judged from a suite's results. Each target carries the absolute figures
 * behind its ratio (as text and as numbers), so bench/results.json alone is enough to render the
 * README's table.
 */

export interface Target {
  /** Scenario and what is compared. */
  name: string;
  /** The pass condition, as text (e.g. "≤ 1.5×"). */
  threshold: string;
  value: number;
  unit: string;
  met: boolean;
  /** The absolute figures behind `value`, as printed. */
  detail: string;
  /** The same figures as numbers (seconds, per second, MB, ms). */
  figures: Record<string, number>;
}

/** One full sync (commit, fresh school) of the cost curve. */
export interface CostPoint {
  students: number;
  seconds: number;
  microsecondsPerStudent: number;
  studentsPerSecond: number;
  workerPeakRssMb: number;
  /** Which run(s) the figures come from. */
  from: string;
}

/** Scenario 5 (and --huge): growth of the worker's peak RSS allowed between sizes. */
const MAX_PEAK_GROWTH_MB = 50;
/** --huge: time per student at the largest size may be at most this multiple of that at scenario 1's size. */
const MAX_TIME_PER_STUDENT_GROWTH = 1.25;

const n = (x: number) => fmt(x, 0);
const mb = (x: number) => `${fmt(x, 0)} MB`;
const secondsAndRate = (label: string, seconds: number, students: number) =>
  `${label} ${fmt(seconds)} s (${n(students / seconds)} students/s)`;
const usPerStudent = (r: { seconds: number; students: number }) => (r.seconds * 1e6) / r.students;

export function evaluateTargets(r: SuiteResults): Target[] {
  const s1 = r.fullSync;
  const { large, small } = r.memory;
  const fan = r.fanOut;
  const targets: Target[] = [
    {
      name: `S1 full sync of ${n(s1.students)} / bare baseline`,
      threshold: '≤ 1.5×',
      value: s1.seconds / r.baseline.seconds,
      unit: '×',
      met: s1.seconds / r.baseline.seconds <= 1.5,
      detail: `${secondsAndRate('pipeline', s1.seconds, s1.students)}; ${secondsAndRate('baseline', r.baseline.seconds, r.baseline.students)}`,
      figures: {
        pipelineSeconds: s1.seconds,
        pipelineStudentsPerSecond: s1.studentsPerSecond,
        baselineSeconds: r.baseline.seconds,
        baselineStudentsPerSecond: r.baseline.studentsPerSecond,
      },
    },
    {
      name: 'S2 no-change re-sync / full sync',
      threshold: '≤ 0.5×',
      value: r.noChange.seconds / s1.seconds,
      unit: '×',
      met: r.noChange.seconds / s1.seconds <= 0.5,
      detail: `${secondsAndRate('re-sync', r.noChange.seconds, r.noChange.students)}; ${secondsAndRate('full sync', s1.seconds, s1.students)}`,
      figures: {
        resyncSeconds: r.noChange.seconds,
        resyncStudentsPerSecond: r.noChange.studentsPerSecond,
        fullSyncSeconds: s1.seconds,
        fullSyncStudentsPerSecond: s1.studentsPerSecond,
      },
    },
    {
      name: 'S2 student rows written by the re-sync',
      threshold: '0',
      value: r.noChange.rowsRewritten,
      unit: 'rows',
      met: r.noChange.zeroRowsWritten,
      detail: `${n(r.noChange.rowsRewritten)} of ${n(r.noChange.students)} rows with a new version (xmin); ${n(r.noChange.changesRecorded)} changes recorded`,
      figures: { rowsRewritten: r.noChange.rowsRewritten, changesRecorded: r.noChange.changesRecorded },
    },
    {
      name: `S3 fan-out ${n(fan.schools)} × ${n(fan.studentsPerSchool)}: POST /runs p95`,
      threshold: '≤ 200 ms',
      value: fan.triggerSeconds.p95 * 1000,
      unit: 'ms',
      met: fan.triggerSeconds.p95 * 1000 <= 200,
      detail: `p50 ${n(fan.triggerSeconds.p50 * 1000)} ms, p95 ${n(fan.triggerSeconds.p95 * 1000)} ms; ${fmt(triggerBurstPerSecond(fan), 1)} req/s over the burst of ${n(fan.schools)}`,
      figures: {
        p50Ms: fan.triggerSeconds.p50 * 1000,
        p95Ms: fan.triggerSeconds.p95 * 1000,
        burstRequestsPerSecond: triggerBurstPerSecond(fan),
      },
    },
    {
      name: `S3 fan-out ${n(fan.schools)} × ${n(fan.studentsPerSchool)}: worker peak RSS`,
      threshold: '< 400 MB',
      value: fan.workerPeakRssMb,
      unit: 'MB',
      met: fan.workerPeakRssMb < 400,
      detail: `peak ${mb(fan.workerPeakRssMb)}${fan.peakIsFanOutOnly ? '' : ' (over the worker’s whole life: the reset was refused)'}; all ${n(fan.schools)} runs in ${fmt(fan.totalSeconds)} s`,
      figures: { workerPeakRssMb: fan.workerPeakRssMb, totalSeconds: fan.totalSeconds },
    },
    ...(['runs', 'students'] as const).map((name): Target => {
      const e = r.api.endpoints[name];
      return {
        name: `S4 GET …/${name}: API / bare`,
        threshold: '≥ 0.8×',
        value: e.ratio,
        unit: '×',
        met: e.ratio >= 0.8,
        detail: `API ${n(e.api.requestsPerSecond)} req/s; bare ${n(e.bare.requestsPerSecond)} req/s`,
        figures: { apiRequestsPerSecond: e.api.requestsPerSecond, bareRequestsPerSecond: e.bare.requestsPerSecond },
      };
    }),
    peakGrowth('S5', large, small),
  ];
  const h = r.huge;
  if (h) {
    const perStudent = usPerStudent(h) / usPerStudent(s1);
    targets.push(peakGrowth(`S5 flat to ${n(h.students)}`, h, small), {
      name: `S5 flat to ${n(h.students)}: time per student at ${n(h.students)} / at ${n(s1.students)}`,
      threshold: `≤ ${MAX_TIME_PER_STUDENT_GROWTH}× (our reading of "flat")`,
      value: perStudent,
      unit: '×',
      met: perStudent <= MAX_TIME_PER_STUDENT_GROWTH,
      detail: `${fmt(usPerStudent(h), 1)} µs/student (${fmt(h.seconds)} s) at ${n(h.students)}; ${fmt(usPerStudent(s1), 1)} µs/student (${fmt(s1.seconds)} s) at ${n(s1.students)}`,
      figures: {
        largeMicrosecondsPerStudent: usPerStudent(h),
        largeSeconds: h.seconds,
        baseMicrosecondsPerStudent: usPerStudent(s1),
        baseSeconds: s1.seconds,
      },
    });
  }
  return targets;
}

function peakGrowth(label: string, large: FullSyncResult, small: FullSyncResult): Target {
  const growth = large.workerPeakRssMb - small.workerPeakRssMb;
  return {
    name: `${label}: worker peak RSS (${n(large.students)}) − (${n(small.students)})`,
    threshold: `≤ ${MAX_PEAK_GROWTH_MB} MB`,
    value: growth,
    unit: 'MB',
    met: growth <= MAX_PEAK_GROWTH_MB,
    detail: `${mb(large.workerPeakRssMb)} at ${n(large.students)}; ${mb(small.workerPeakRssMb)} at ${n(small.students)}`,
    figures: { largePeakRssMb: large.workerPeakRssMb, smallPeakRssMb: small.workerPeakRssMb },
  };
}

/**
 * Requests per second over the fan-out's trigger burst. Every POST is sent in the same tick, so
 * the burst lasts from then to the slowest answer.
 */
function triggerBurstPerSecond(fan: SuiteResults['fanOut']): number {
  return fan.schools / fan.triggerSeconds.max;
}

/**
 * What a full sync costs as the school grows: scenario 5's small run, scenario 1 and, with
 * --huge, the largest run, smallest first. Each size is a fresh school whose worker peak was
 * reset just before its trigger.
 */
export function costCurve(r: SuiteResults): CostPoint[] {
  const point = (run: { students: number; seconds: number }, peak: number, from: string): CostPoint => ({
    students: run.students,
    seconds: run.seconds,
    microsecondsPerStudent: usPerStudent(run),
    studentsPerSecond: run.students / run.seconds,
    workerPeakRssMb: peak,
    from,
  });
  const rounds = r.rounds.fullSyncSeconds.length;
  return [
    point(r.memory.small, r.memory.small.workerPeakRssMb, 'scenario 5: one run on a fresh worker'),
    point(
      r.fullSync,
      r.memory.large.workerPeakRssMb,
      rounds > 1 ? `scenario 1: median of ${rounds} rounds; peak: the highest round` : 'scenario 1: one run',
    ),
    ...(r.huge ? [point(r.huge, r.huge.workerPeakRssMb, '--huge: one run on a fresh worker')] : []),
  ].sort((a, b) => a.students - b.students);
}
