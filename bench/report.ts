import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchSizes, SuiteResults } from './suite.js';
import { fmt, round } from './lib/stats.js';
import { costCurve, evaluateTargets, type CostPoint, type Target } from './lib/targets.js';

/** bench/results.json, the printed table, and the markdown the README carries. */

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  node: string;
  platform: string;
  postgres: string;
  /** How busy the machine was while the figures were taken: anything else running shows here. */
  loadAverage: LoadAverage;
  note: string;
}

/**
 * os.loadavg() ([1, 5, 15]-minute averages) at the start and the end of the run, and the 1-minute
 * average sampled in between. Compare with `cpus`: above it, processes were waiting for a core.
 * `null`: not measured.
 */
export interface LoadAverage {
  atStart: number[];
  atEnd: number[] | null;
  oneMinute: { everySeconds: number; samples: number; min: number; mean: number; max: number } | null;
}

const LOAD_SAMPLE_SECONDS = 5;

/** Samples os.loadavg() from construction to stop(); its timer does not keep the process alive. */
export class LoadSampler {
  private readonly atStart: number[];
  private readonly oneMinute: number[];
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly read: () => number[] = loadavg,
    private readonly everyMs = LOAD_SAMPLE_SECONDS * 1000,
  ) {
    this.atStart = read();
    this.oneMinute = [this.atStart[0]!];
    this.timer = setInterval(() => this.oneMinute.push(this.read()[0]!), everyMs);
    this.timer.unref();
  }
  stop(): LoadAverage {
    clearInterval(this.timer);
    const atEnd = this.read();
    const samples = [...this.oneMinute, atEnd[0]!];
    return {
      atStart: this.atStart.map((l) => round(l)),
      atEnd: atEnd.map((l) => round(l)),
      oneMinute: {
        everySeconds: this.everyMs / 1000,
        samples: samples.length,
        min: round(Math.min(...samples)),
        mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
        max: round(Math.max(...samples)),
      },
    };
  }
}

export function describeMachine(postgres: string, loadAverage: LoadAverage): Machine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    postgres,
    loadAverage,
    note:
      'Everything on one machine over 127.0.0.1: PostgreSQL, a Temporal dev server (SQLite), the simulator, the worker, ' +
      'the API and the load generator share its cores. loadAverage is what the machine measured during the run; each ' +
      'scenario\'s cpuSeconds names the CPU that went to processes outside the benchmark ("everything else on the machine").',
  };
}

export interface ResultsFile {
  date: string;
  durationSeconds: number;
  sizes: BenchSizes;
  machine: Machine;
  targets: Target[];
  /** Full sync cost by school size, smallest first. */
  costCurve: CostPoint[];
  scenarios: SuiteResults;
  inputs: Record<string, string>;
}

export function buildResults(results: SuiteResults, sizes: BenchSizes, machine: Machine, startedAt: Date): ResultsFile {
  return {
    date: startedAt.toISOString(),
    durationSeconds: round((Date.now() - startedAt.getTime()) / 1000, 1),
    sizes,
    machine,
    targets: evaluateTargets(results),
    costCurve: costCurve(results),
    scenarios: results,
    inputs: {
      simulator:
        'PowerSchool simulator in a child process, seed 1, no malformed records, every seeded student active (scope = grades −2…12 = all)',
      pageSize: `maximum page size ${sizes.pageSize} for scenarios 1, 2, 5 (PowerSchool's default max is 100; a plugin may be allowed more); ${sizes.fanOutPageSize} for scenario 3; scenario 1b repeats scenario 1 once at ${sizes.defaultPageSize}`,
      schools:
        'integrations stored through PUT /v1/schools/{id}/integration: commit mode, grades −2…12, mapping DCID, date of birth and gender synced, no email',
      trigger:
        'POST /v1/schools/{id}/runs {testRun:false} on the API child process (api/main.ts), completion awaited through the Temporal client (workflow result)',
      worker:
        'worker/main.ts as a child process (NODE_ENV=development, LOG_LEVEL=warn): a fresh one for scenarios 1+2, another fresh one for the small memory run, then reused for the fan-out' +
        (sizes.hugeStudents > 0 ? `, and a fresh one for the ${sizes.hugeStudents}-student --huge run (last)` : ''),
      peaks:
        'worker peak RSS = VmHWM, reset to the current RSS just before each trigger (start-up and earlier runs excluded)',
      api: 'api/main.ts child, LOG_LEVEL=warn (no per-request log lines), rate-limit plugin on with API_RATE_LIMIT_MAX=1e9 (never reached); bare handler = Fastify + pg child with the same SQL and limit, no auth/helmet/validation',
      checks:
        'every pipeline scenario compares the students table, row by row and field by field, with the simulator’s in-scope students before reporting',
    },
  };
}

/** Wall time not spent inside (or queued for) an activity: workflow tasks and Temporal round trips. */
function overheadLine(run: {
  seconds: number;
  activities: Record<string, { count: number; runSeconds: number; queueSeconds: number }>;
}) {
  const acts = Object.values(run.activities);
  const n = acts.reduce((a, t) => a + t.count, 0);
  const inActivities = acts.reduce((a, t) => a + t.runSeconds, 0);
  const queued = acts.reduce((a, t) => a + t.queueSeconds, 0);
  const rest = run.seconds - inActivities - queued;
  return `${fmt(queued + rest)} s over ${n} activities (${fmt(((queued + rest) * 1000) / n, 1)} ms each: ${fmt(queued)} s queued, ${fmt(rest)} s between)`;
}

const SHORT: Record<string, string> = {
  worker: 'worker',
  simulator: 'sim',
  api: 'api',
  'temporal server': 'temporal',
  'bench process': 'bench',
  'postgres (whole server)': 'pg',
  'everything else on the machine': 'others',
  'machine total': 'total',
};

function cpuLine(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([k, v]) => `${SHORT[k] ?? k} ${fmt(v, 1)}`)
    .join(', ');
}

function loadLine(m: Machine): string {
  const l = m.loadAverage;
  const triple = (xs: number[]) => xs.map((x) => fmt(x)).join(' / ');
  const parts = [`at start ${triple(l.atStart)}`, l.atEnd ? `at end ${triple(l.atEnd)}` : 'at end not measured'];
  if (l.oneMinute)
    parts.push(
      `1-minute average every ${l.oneMinute.everySeconds} s: min ${fmt(l.oneMinute.min)}, mean ${fmt(l.oneMinute.mean)}, max ${fmt(l.oneMinute.max)}`,
    );
  return `Load average (1 / 5 / 15 min) on ${m.cpus} CPUs: ${parts.join('; ')}`;
}

export function printTable(file: ResultsFile, print: (line: string) => void = console.log): void {
  const s = file.scenarios;
  const rows: [string, string, string][] = [];
  const add = (scenario: string, measure: string, value: string) => rows.push([scenario, measure, value]);

  add('1 full sync', `${s.fullSync.students} students, page ${s.fullSync.pageSize}`, `${fmt(s.fullSync.seconds)} s`);
  add('', 'students/s', fmt(s.fullSync.studentsPerSecond, 0));
  if (s.rounds.fullSyncSeconds.length > 1) {
    const list = (xs: number[]) => xs.map((x) => fmt(x, 1)).join(' / ');
    add('', `rounds (median reported)`, `pipeline ${list(s.rounds.fullSyncSeconds)} s`);
    add('', '', `baseline ${list(s.rounds.baselineSeconds)} s`);
    add('', '', `no-change ${list(s.rounds.noChangeSeconds)} s`);
  }
  add('', 'baseline (no Temporal)', `${fmt(s.baseline.seconds)} s (${fmt(s.baseline.studentsPerSecond, 0)}/s)`);
  add('', 'pipeline / baseline', `${fmt(s.fullSync.seconds / s.baseline.seconds)}×`);
  for (const [type, t] of Object.entries(s.fullSync.activities))
    add('', `  ${type} ×${t.count}`, `${fmt(t.runSeconds)} s run, ${fmt(t.queueSeconds)} s queued`);
  add('', 'Temporal dispatch + workflow tasks', overheadLine(s.fullSync));
  add('', 'CPU used during the run (s)', cpuLine(s.fullSync.cpuSeconds));
  const d = s.defaultPages;
  if (d) {
    add(
      '1b full sync, page 100',
      `${d.students} students, page ${d.pageSize}`,
      `${fmt(d.seconds)} s (${fmt(d.studentsPerSecond, 0)}/s)`,
    );
    for (const [type, t] of Object.entries(d.activities))
      if (type === 'fetchPage' || type === 'applyRun')
        add('', `  ${type} ×${t.count}`, `${fmt(t.runSeconds)} s run, ${fmt(t.queueSeconds)} s queued`);
    add('', 'Temporal dispatch + workflow tasks', overheadLine(d));
  }
  const h = s.huge;
  if (h) {
    add('1c full sync (--huge)', `${h.students} students, page ${h.pageSize}`, `${fmt(h.seconds)} s`);
    add('', 'students/s', fmt(h.studentsPerSecond, 0));
    for (const [type, t] of Object.entries(h.activities))
      add('', `  ${type} ×${t.count}`, `${fmt(t.runSeconds)} s run, ${fmt(t.queueSeconds)} s queued`);
    add('', 'Temporal dispatch + workflow tasks', overheadLine(h));
    add('', 'CPU used during the run (s)', cpuLine(h.cpuSeconds));
    add(
      '',
      'worker peak RSS (fresh worker)',
      `${fmt(h.workerPeakRssMb, 0)} MB (before ${fmt(h.workerRssBeforeMb, 0)} MB)`,
    );
  }
  add('2 no-change re-sync', `${s.noChange.students} students`, `${fmt(s.noChange.seconds)} s`);
  add('', 're-sync / full sync', `${fmt(s.noChange.seconds / s.fullSync.seconds)}×`);
  add(
    '',
    'student rows rewritten (xmin)',
    `${s.noChange.rowsRewritten} (content updates ${s.noChange.rowsContentUpdated}, inserts ${s.noChange.rowsInserted}, changes recorded ${s.noChange.changesRecorded})`,
  );
  for (const [type, t] of Object.entries(s.noChange.activities))
    add('', `  ${type} ×${t.count}`, `${fmt(t.runSeconds)} s run, ${fmt(t.queueSeconds)} s queued`);
  add('', 'CPU used during the run (s)', cpuLine(s.noChange.cpuSeconds));
  const f = s.fanOut;
  add(
    '3 fan-out',
    `${f.schools} schools × ${f.studentsPerSchool}, page ${f.pageSize}`,
    `${fmt(f.totalSeconds)} s total`,
  );
  add(
    '',
    'run duration p50 / p95 / max',
    `${fmt(f.runSeconds.p50)} / ${fmt(f.runSeconds.p95)} / ${fmt(f.runSeconds.max)} s`,
  );
  add(
    '',
    'POST /runs p50 / p95 (all at once)',
    `${fmt(f.triggerSeconds.p50 * 1000, 0)} / ${fmt(f.triggerSeconds.p95 * 1000, 0)} ms`,
  );
  add('', 'students/s overall', fmt(f.studentsPerSecond, 0));
  add('', 'worker peak RSS during the fan-out', `${fmt(f.workerPeakRssMb, 0)} MB`);
  add('', 'CPU used during the fan-out (s)', cpuLine(f.cpuSeconds));
  for (const name of ['runs', 'students'] as const) {
    const e = s.api.endpoints[name];
    add(
      name === 'runs' ? `4 API (${s.api.connections} conn, ${s.api.durationSeconds} s)` : '',
      `GET …/${name}: API req/s, p99`,
      `${fmt(e.api.requestsPerSecond, 0)}, ${fmt(e.api.latencyP99Ms, 0)} ms`,
    );
    add('', `GET …/${name}: bare req/s, p99`, `${fmt(e.bare.requestsPerSecond, 0)}, ${fmt(e.bare.latencyP99Ms, 0)} ms`);
    add('', `GET …/${name}: API / bare`, `${fmt(e.ratio)}×`);
    add(
      '',
      `GET …/${name}: server CPU per request`,
      `API ${fmt(e.api.serverCpuMsPerRequest)} ms, bare ${fmt(e.bare.serverCpuMsPerRequest)} ms (PostgreSQL ${fmt(e.api.postgresCpuMsPerRequest)} / ${fmt(e.bare.postgresCpuMsPerRequest)} ms)`,
    );
  }
  const m = s.memory;
  add(
    '5 memory',
    `worker peak RSS, ${m.large.students} students`,
    `${fmt(m.large.workerPeakRssMb, 0)} MB (before ${fmt(m.large.workerRssBeforeMb, 0)} MB)`,
  );
  add(
    '',
    `worker peak RSS, ${m.small.students} students`,
    `${fmt(m.small.workerPeakRssMb, 0)} MB (before ${fmt(m.small.workerRssBeforeMb, 0)} MB)`,
  );
  add('', `${m.small.students}-student sync`, `${fmt(m.small.seconds)} s (${fmt(m.small.studentsPerSecond, 0)}/s)`);

  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  print(line(['scenario', 'measure', 'value']));
  print(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) print(line(r));
  print('');
  print(loadLine(file.machine));
  print('');
  print('Targets:');
  for (const t of file.targets)
    print(`  ${t.met ? 'MET   ' : 'MISSED'} ${t.name}: ${t.threshold}, measured ${measured(t)} — ${t.detail}`);
}

function measured(t: Target): string {
  if (t.unit === '×') return `${fmt(t.value)}×`;
  return `${fmt(t.value, t.unit === 'MB' || t.unit === 'ms' ? 0 : 2)} ${t.unit}`;
}

/** A markdown table cell: pipes would end the cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

function markdownTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/**
 * The targets and the cost curve as markdown tables, for the README to carry verbatim: made from
 * results.json alone (`npx tsx bench/readme-table.ts [results.json]`).
 */
export function renderMarkdown(file: Pick<ResultsFile, 'targets' | 'costCurve'>): string {
  const targets = markdownTable(
    ['target', 'threshold', 'measured', 'absolute figures', 'result'],
    file.targets.map((t) => [t.name, t.threshold, measured(t), t.detail, t.met ? 'MET' : 'MISSED']),
  );
  const curve = markdownTable(
    ['students', 'seconds', 'µs per student', 'students/s', 'worker peak RSS (MB)', 'run'],
    file.costCurve.map((p) => [
      fmt(p.students, 0),
      fmt(p.seconds),
      fmt(p.microsecondsPerStudent, 1),
      fmt(p.studentsPerSecond, 0),
      fmt(p.workerPeakRssMb, 0),
      p.from,
    ]),
  );
  return [...targets, '', ...curve].join('\n');
}
