import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import type { ApiProcess } from '../lib/api.js';
import type { BenchContext } from '../lib/env.js';
import { spawnNode } from '../../test/helpers/process.js';
import { cpuByPidOfCommand, cpuDelta, procCpuSeconds, waitUntil } from '../lib/proc.js';

/**
 * Scenario 4: autocannon on the API's two hot list endpoints, and beside each a bare Fastify + pg
 * handler running the same SQL, in the same run, alternating so drift hits both alike. Both
 * servers are child processes; autocannon runs in this one.
 */

export interface LoadFigures {
  url: string;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** CPU the server process used during the measured phase, per request (ms): less noisy than req/s on a shared machine. */
  serverCpuMsPerRequest: number;
  /** CPU of all PostgreSQL processes during the measured phase, per request (ms; the server is shared). */
  postgresCpuMsPerRequest: number;
}

export interface ApiLoadResult {
  connections: number;
  durationSeconds: number;
  schoolRuns: number;
  schoolStudents: number;
  endpoints: Record<'runs' | 'students', { api: LoadFigures; bare: LoadFigures; ratio: number }>;
  bareSql: { runs: string; students: string };
}

const BARE_MAIN = fileURLToPath(new URL('../lib/bare-server-main.ts', import.meta.url));

async function load(
  url: string,
  headers: Record<string, string>,
  serverPid: number,
  opts: { connections: number; duration: number; warmup: number },
): Promise<LoadFigures> {
  if (opts.warmup > 0) await autocannon({ url, headers, connections: opts.connections, duration: opts.warmup });
  const cpu0 = procCpuSeconds(serverPid) ?? NaN;
  const pg0 = cpuByPidOfCommand('postgres');
  const r = await autocannon({ url, headers, connections: opts.connections, duration: opts.duration });
  const serverCpu = (procCpuSeconds(serverPid) ?? NaN) - cpu0;
  const pgCpu = cpuDelta(pg0, cpuByPidOfCommand('postgres'));
  const figures = {
    url,
    requestsPerSecond: r.requests.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    serverCpuMsPerRequest: (serverCpu * 1000) / r.requests.total,
    postgresCpuMsPerRequest: (pgCpu * 1000) / r.requests.total,
  };
  if (figures.non2xx > 0 || figures.errors > 0 || figures.requests === 0)
    throw new Error(`load on ${url}: ${figures.non2xx} non-2xx, ${figures.errors} errors of ${figures.requests}`);
  return figures;
}

/** Enough runs that the first page of GET /runs is full, as for a school synced weekly for a year. */
async function ensureRunHistory(ctx: BenchContext, schoolId: string, atLeast: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from runs where school_id = ${schoolId}`.execute(
    ctx.db,
  );
  const missing = Math.max(0, atLeast - rows[0]!.n);
  if (missing > 0) {
    await sql`
      insert into runs (id, school_id, trigger, test_run, status, started_at, finished_at, settings,
                        count_fetched, count_unchanged, pages_fetched, pages_total, records_fetched, records_total)
      select 'powerschool-sync-' || ${schoolId} || '-history-' || g, ${schoolId}, 'schedule', false, 'succeeded',
             now() - make_interval(days => 7 * g), now() - make_interval(days => 7 * g) + interval '30 seconds',
             '{}'::jsonb, 1000, 1000, 10, 10, 1000, 1000
      from generate_series(1, ${missing}::int) g`.execute(ctx.db);
  }
  return Math.max(atLeast, rows[0]!.n);
}

export async function apiLoad(
  ctx: BenchContext,
  api: ApiProcess,
  opts: { schoolId: string; connections: number; durationSeconds: number; warmupSeconds: number },
): Promise<ApiLoadResult> {
  const schoolRuns = await ensureRunHistory(ctx, opts.schoolId, 52);
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from students where school_id = ${opts.schoolId}`.execute(ctx.db);
  const schoolStudents = rows[0]!.n;

  const bare = spawnNode(BARE_MAIN, { label: 'bare server', env: { DATABASE_URL: ctx.databaseUrl, PORT: '0' } });
  try {
    const info = await waitUntil(
      'bare server',
      () => {
        const line = /BENCH_BARE (\{.*\})/.exec(bare.output())?.[1];
        return line ? (JSON.parse(line) as { url: string; runsSql: string; studentsSql: string }) : undefined;
      },
      { timeoutMs: 60_000, child: bare },
    );

    const targets = {
      runs: { api: `${api.url}/v1/schools/${opts.schoolId}/runs`, bare: `${info.url}/runs/${opts.schoolId}` },
      students: {
        api: `${api.url}/v1/schools/${opts.schoolId}/students`,
        bare: `${info.url}/students/${opts.schoolId}`,
      },
    };
    const auth = { authorization: `Bearer ${ctx.apiToken}` };

    // Both answer the same first page before either is timed.
    const apiRuns = await api.call<{ runs: { id: string }[] }>('GET', `/v1/schools/${opts.schoolId}/runs`);
    const bareRuns = (await (await fetch(targets.runs.bare)).json()) as { runs: { id: string }[] };
    const apiStudents = await api.call<{ students: { dcid: string }[] }>(
      'GET',
      `/v1/schools/${opts.schoolId}/students`,
    );
    const bareStudents = (await (await fetch(targets.students.bare)).json()) as { students: { dcid: string }[] };
    const same = (a: string[], b: string[]) => a.length > 0 && a.join() === b.join();
    if (
      !same(
        apiRuns.runs.map((r) => r.id),
        bareRuns.runs.map((r) => r.id),
      )
    )
      throw new Error('api load: the API and the bare handler list different runs');
    if (
      !same(
        apiStudents.students.map((s) => s.dcid),
        bareStudents.students.map((s) => String(s.dcid)),
      )
    )
      throw new Error('api load: the API and the bare handler list different students');

    const o = { connections: opts.connections, duration: opts.durationSeconds, warmup: opts.warmupSeconds };
    const endpoints = {} as ApiLoadResult['endpoints'];
    for (const name of ['runs', 'students'] as const) {
      ctx.log(`    ${name}: API …`);
      const a = await load(targets[name].api, auth, api.pid, o);
      ctx.log(`    ${name}: bare …`);
      const b = await load(targets[name].bare, {}, bare.pid, o);
      endpoints[name] = { api: a, bare: b, ratio: a.requestsPerSecond / b.requestsPerSecond };
    }
    return {
      connections: opts.connections,
      durationSeconds: opts.durationSeconds,
      schoolRuns,
      schoolStudents,
      endpoints,
      bareSql: { runs: info.runsSql, students: info.studentsSql },
    };
  } finally {
    await bare.stop();
  }
}
