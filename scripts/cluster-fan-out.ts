import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCluster } from './lib/cluster.js';

/**
 * The benchmark's fan-out scenario (bench/scenarios/fan-out.ts: many schools triggered at once,
 * every run must succeed with exactly the simulator's students) against the production topology
 * instead of the dev server: Temporal on PostgreSQL and two worker processes.
 *
 *   npx tsx scripts/cluster-fan-out.ts [--schools 200] [--students 500] [--page-size 100]
 *
 * Uses throw-away databases (prefix pss_fan_out_<pid>), dropped at the end.
 */

const { values } = parseArgs({
  options: {
    schools: { type: 'string', default: '200' },
    students: { type: 'string', default: '500' },
    'page-size': { type: 'string', default: '100' },
    workers: { type: 'string', default: '2' },
  },
});
const schools = Number(values.schools);
const wantedInScope = Number(values.students);

// The simulator seeds students of every enrolment status; seed enough that about N are in scope.
const cluster = await startCluster({
  prefix: `pss_fan_out_${process.pid}`,
  fresh: true,
  workers: Number(values.workers),
  ui: false,
  simulator: { students: Math.round(wantedInScope / 0.85), seed: 7, maxPageSize: Number(values['page-size']) },
  ports: { temporal: 0, ui: 0, api: 0, workerMetrics: 0 },
  log: (line) => console.log(line),
});
const app = new pg.Pool({ connectionString: cluster.databases.app, max: 4 });
try {
  const sim = cluster.simulator!;
  const inScope = sim.students.inScope(-2, 12);
  console.log(`cluster ready in ${(cluster.startedInMs / 1000).toFixed(1)} s; ${inScope.length} students in scope`);
  const ids = Array.from({ length: schools }, (_, i) => `fan-${String(i + 1).padStart(3, '0')}`);
  for (let i = 0; i < ids.length; i += 10)
    await Promise.all(
      ids.slice(i, i + 10).map((school) =>
        cluster.api('PUT', `/v1/schools/${school}/integration`, {
          powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
          active: true,
          testRun: false,
          notifications: { enabled: false, recipients: [] },
          grades: { from: -2, to: 12 },
          mapping: { powerschoolId: 'DCID', dateOfBirth: true, gender: true },
          schedule: { cron: '0 2 1 1 *', timezone: 'UTC' },
        }),
      ),
    );

  const started = performance.now();
  const runs = await Promise.all(
    ids.map((school) => cluster.api<{ id: string }>('POST', `/v1/schools/${school}/runs`, { testRun: false })),
  );
  const runIds = runs.map((r) => r.id);
  for (;;) {
    const { rows } = await app.query<{ open: string }>(
      `select count(*) as open from runs where id = any($1) and status = 'running'`,
      [runIds],
    );
    if (Number(rows[0]!.open) === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const totalSeconds = (performance.now() - started) / 1000;

  const { rows } = await app.query<{ status: string; seconds: number }>(
    `select status, extract(epoch from finished_at - started_at)::float as seconds from runs where id = any($1)`,
    [runIds],
  );
  const failed = rows.filter((r) => r.status !== 'succeeded');
  const counts = await app.query<{ school_id: string; n: string; distinct_dcids: string }>(
    `select school_id, count(*) as n, count(distinct dcid) as distinct_dcids from students
      where school_id = any($1) group by school_id`,
    [ids],
  );
  const exact = counts.rows.filter(
    (r) => Number(r.n) === inScope.length && Number(r.distinct_dcids) === inScope.length,
  );
  const durations = rows.map((r) => r.seconds).sort((a, b) => a - b);
  const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor((p / 100) * durations.length))];
  const result = {
    schools,
    studentsPerSchool: inScope.length,
    pageSize: Number(values['page-size']),
    workers: cluster.workers.length,
    totalSeconds: Math.round(totalSeconds * 10) / 10,
    studentsPerSecond: Math.round((schools * inScope.length) / totalSeconds),
    runSeconds: { p50: pct(50), p95: pct(95), max: durations.at(-1), min: durations[0] },
    failed: failed.length,
    schoolsExact: exact.length,
  };
  console.log(JSON.stringify(result, null, 2));
  if (failed.length || exact.length !== schools) process.exitCode = 1;
} finally {
  await app.end();
  await cluster.stop({ dropDatabases: true });
}
