import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedStudent } from '../../simulator/index.js';
import { PROJECT_ROOT } from '../../scripts/lib/go-build.js';
import { startCluster, type Cluster, type ClusterWorker } from '../../scripts/lib/cluster.js';

/**
 * `npm run test:cluster`: the production topology, proven. A Temporal server on PostgreSQL, the API
 * and two versioned workers as separate processes (scripts/lib/cluster.ts, what `npm run cluster`
 * starts); everything driven through the public HTTP API.
 */

const { PendingActivityState, VersioningBehavior } = proto.temporal.api.enums.v1;
const SEEDED = 23_800;
const ALL_GRADES = { from: -2, to: 12 };
const PREFIX = `pss_cluster_test_${process.pid}`;
const BUILD_A = 'build-a';
const BUILD_B = 'build-b';

interface Run {
  id: string;
  status: string;
  counts: { fetched: number; created: number; updated: number; unchanged: number; invalid: number; missing: number };
  error: { code: string; message: string } | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` returns something truthy (the cluster runs in other processes: no event to await). */
async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('the cluster: Temporal on PostgreSQL, the API and two workers as production runs them', () => {
  let cluster: Cluster;
  let app: pg.Pool;
  /** The 20,000-student run, read again after the server restart. */
  let killRunId: string;
  const figures: Record<string, number | string> = {};

  beforeAll(async () => {
    cluster = await startCluster({
      prefix: PREFIX,
      fresh: true,
      dataDir: join(PROJECT_ROOT, '.data', 'cluster', PREFIX),
      versioning: { buildId: BUILD_A },
      simulator: { students: SEEDED, seed: 1919, maxPageSize: 100, faults: { latencyMs: 15 } },
      ports: { temporal: 0, ui: 0, api: 0, workerMetrics: 0 },
      log: (line) => console.log(`[cluster] ${line}`),
    });
    figures.clusterStartSeconds = Math.round(cluster.startedInMs / 100) / 10;
    for (const line of cluster.summary()) console.log(`[cluster] ${line}`);
    app = new pg.Pool({ connectionString: cluster.databases.app, max: 2 });
  }, 900_000);

  afterAll(async () => {
    console.log(`[cluster] figures ${JSON.stringify(figures)}`);
    await app?.end();
    await cluster?.stop({ dropDatabases: true });
    rmSync(join(PROJECT_ROOT, '.data', 'cluster', PREFIX), { recursive: true, force: true });
  });

  const putSchool = (schoolId: string, grades = ALL_GRADES) =>
    cluster.api('PUT', `/v1/schools/${schoolId}/integration`, {
      powerschool: {
        serverUrl: cluster.simulator!.url,
        clientId: cluster.simulator!.clientId,
        clientSecret: cluster.simulator!.clientSecret,
      },
      active: true,
      testRun: false,
      notifications: { enabled: false, recipients: [] },
      grades,
      mapping: { powerschoolId: 'DCID', dateOfBirth: true, gender: true },
      schedule: { cron: '0 2 * * 0', timezone: 'UTC' },
    });
  const startRun = (schoolId: string) => cluster.api<Run>('POST', `/v1/schools/${schoolId}/runs`, {});
  const getRun = (schoolId: string, id: string) =>
    cluster.api<Run>('GET', `/v1/schools/${schoolId}/runs/${encodeURIComponent(id)}`);
  const finished = (schoolId: string, id: string) =>
    until(`run ${id} to finish`, async () => {
      const run = await getRun(schoolId, id);
      return run.status === 'running' ? undefined : run;
    });
  const handle = (id: string): WorkflowHandle => cluster.client.workflow.getHandle(id);
  const workerOf = (identity: string | null | undefined): ClusterWorker | undefined =>
    cluster.workers.find((w) => identity?.startsWith(w.identityPrefix));
  /** Which workers completed the run's workflow tasks and started its activities. */
  const workersThatRan = async (id: string) => {
    const events = (await handle(id).fetchHistory()).events ?? [];
    const identities = events.flatMap((e) => [
      e.workflowTaskCompletedEventAttributes?.identity,
      e.activityTaskStartedEventAttributes?.identity,
    ]);
    return new Set(identities.filter(Boolean).map((i) => workerOf(i)));
  };

  /** The school's students against PowerSchool's in-scope set: same DCIDs, each once, same names. */
  async function expectExactStudents(schoolId: string, inScope: SimulatedStudent[]) {
    const { rows } = await app.query<{ dcid: string; first_name: string; last_name: string; graduation_year: number }>(
      'select dcid, first_name, last_name, graduation_year from students where school_id = $1 order by dcid::bigint',
      [schoolId],
    );
    const expected = [...inScope]
      .sort((a, b) => a.dcid - b.dcid)
      .map((s) => ({
        dcid: String(s.dcid),
        first_name: s.first_name.trim().normalize('NFC'),
        last_name: s.last_name.trim().normalize('NFC'),
        graduation_year: s.sched_yearofgraduation,
      }));
    expect(new Set(rows.map((r) => r.dcid)).size).toBe(rows.length); // nobody twice
    expect(rows).toEqual(expected); // nobody lost, nobody extra, each as PowerSchool has them
    return rows.length;
  }

  it('starts every part: the server answers, the UI serves, the API is ready, two workers poll as build A', async () => {
    expect((await fetch(`${cluster.apiUrl}/readyz`)).status).toBe(200);
    expect(cluster.uiUrl).not.toBeNull();
    expect((await fetch(cluster.uiUrl!)).status).toBe(200);
    expect(cluster.workers.map((w) => w.buildId)).toEqual([BUILD_A, BUILD_A]);
    expect(new Set(cluster.workers.map((w) => w.metricsPort)).size).toBe(2);
    expect(cluster.summary().join('\n')).toMatch(/Temporal server .*_temporal \+ .*_temporal_visibility/);
  });

  it('a 20,000-student commit: the worker holding its fetch is SIGKILLed, the other finishes it, exactly', async () => {
    const schoolId = 'cluster-kill';
    const inScope = cluster.simulator!.students.inScope(ALL_GRADES.from, ALL_GRADES.to);
    expect(inScope.length).toBeGreaterThanOrEqual(20_000);
    await putSchool(schoolId);
    const t0 = Date.now();
    const run = await startRun(schoolId);
    killRunId = run.id;

    // Mid-fetch: some pages staged, and a fetchPage activity running on a worker we know.
    const holder = await until('a fetchPage activity running mid-run', async () => {
      const { rows } = await app.query<{ records_fetched: number }>('select records_fetched from runs where id = $1', [
        run.id,
      ]);
      if ((rows[0]?.records_fetched ?? 0) < 3000) return undefined;
      const { raw } = await handle(run.id).describe();
      const fetching = raw.pendingActivities?.find(
        (a) => a.activityType?.name === 'fetchPage' && a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      return workerOf(fetching?.lastWorkerIdentity);
    });
    const survivor = cluster.workers.find((w) => w !== holder && w.process.running)!;
    await holder.process.kill();
    const atKill = await getRun(schoolId, run.id);
    expect(atKill.status).toBe('running');
    expect(atKill.counts.fetched).toBeLessThan(inScope.length);

    const done = await finished(schoolId, run.id);
    figures.killRunSeconds = Math.round((Date.now() - t0) / 1000);
    figures.killedAtRecords = atKill.counts.fetched;
    expect(done).toMatchObject({
      status: 'succeeded',
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
    });
    figures.studentsChecked = await expectExactStudents(schoolId, inScope);

    // The survivor took the interrupted work over: the history shows it finishing the run.
    const ran = await workersThatRan(run.id);
    expect(ran.has(survivor)).toBe(true);
    const events = (await handle(run.id).fetchHistory()).events ?? [];
    const lastTask = events.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1);
    expect(workerOf(lastTask?.workflowTaskCompletedEventAttributes?.identity)).toBe(survivor);
    const retried = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried.every((e) => workerOf(e.activityTaskStartedEventAttributes?.identity) === survivor)).toBe(true);
  });

  it('keeps its history in PostgreSQL: found in the temporal databases, and it survives a server restart', async () => {
    const schoolId = 'cluster-kill';
    expect(killRunId).toBeDefined();

    const query = async (url: string, sql: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql, [killRunId])).rows;
      } finally {
        await client.end();
      }
    };
    expect(
      await query(cluster.databases.temporal, 'select run_id from executions where workflow_id = $1'),
    ).toHaveLength(1);
    // SQL visibility keeps custom search attributes under field aliases (Keyword01…) that the
    // namespace maps to their names: the school is one of the values.
    const visible = await query(
      cluster.databases.visibility,
      'select status, search_attributes from executions_visibility where workflow_id = $1',
    );
    expect(visible).toHaveLength(1);
    expect(visible[0].status).toBe(2); // completed
    expect(Object.values(visible[0].search_attributes as Record<string, unknown>)).toContain(schoolId);

    const restartT0 = Date.now();
    await cluster.restartTemporal();
    figures.temporalRestartSeconds = Math.round((Date.now() - restartT0) / 100) / 10;

    // After the restart: the old run is still there and searchable by school…
    const listed: string[] = [];
    for await (const wf of cluster.client.workflow.list({ query: `SchoolId = "${schoolId}"` }))
      listed.push(wf.workflowId);
    expect(listed).toContain(killRunId);
    // …and a second run succeeds (the API and the surviving worker reconnected by themselves).
    const sim = cluster.simulator!;
    const renamed = sim.students.inScope(ALL_GRADES.from, ALL_GRADES.to).slice(0, 3);
    for (const s of renamed) sim.students.update(s.dcid, { last_name: `${s.last_name}-Okafor` });
    sim.students.add({ grade_level: 10, enroll_status: 0 });
    const second = await finished(schoolId, (await startRun(schoolId)).id);
    const inScope = sim.students.inScope(ALL_GRADES.from, ALL_GRADES.to);
    expect(second).toMatchObject({
      status: 'succeeded',
      counts: { fetched: inScope.length, created: 1, updated: 3, unchanged: inScope.length - 4, missing: 0 },
    });
    await expectExactStudents(schoolId, inScope);
  });

  it('a versioned deploy: a run started on build A stays on A while B becomes current; the next run starts on B', async () => {
    const sim = cluster.simulator!;
    await putSchool('cluster-slow', { from: 9, to: 12 });
    await putSchool('cluster-next', { from: 12, to: 12 });
    // Slow pages: the first run is still fetching when the deploy happens.
    sim.setFaults({ latencyMs: 250 });
    const slow = await startRun('cluster-slow');
    await until('the slow run to start on build A', async () => {
      const info = (await handle(slow.id).describe()).raw.workflowExecutionInfo?.versioningInfo;
      return info?.deploymentVersion?.buildId === BUILD_A;
    });

    // The deploy: a worker of build B joins, B becomes current; A's workers stay until A drains.
    const b = await cluster.startWorker({ buildId: BUILD_B });
    await cluster.setCurrentVersion(BUILD_B);
    expect((await getRun('cluster-slow', slow.id)).status).toBe('running');

    const next = await startRun('cluster-next');
    const nextDone = await finished('cluster-next', next.id);
    expect(nextDone.status).toBe('succeeded');
    // The slow run was still running on A while the next one ran on B from start to end.
    expect((await getRun('cluster-slow', slow.id)).status).toBe('running');
    sim.setFaults({});
    const slowDone = await finished('cluster-slow', slow.id);
    expect(slowDone.status).toBe('succeeded');

    const versionOf = async (id: string) => (await handle(id).describe()).raw.workflowExecutionInfo?.versioningInfo;
    expect(await versionOf(slow.id)).toMatchObject({
      behavior: VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
      deploymentVersion: { buildId: BUILD_A },
    });
    expect(await versionOf(next.id)).toMatchObject({
      behavior: VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
      deploymentVersion: { buildId: BUILD_B },
    });
    expect([...(await workersThatRan(slow.id))].map((w) => w?.buildId)).toEqual(expect.arrayContaining([BUILD_A]));
    expect([...(await workersThatRan(slow.id))].every((w) => w?.buildId === BUILD_A)).toBe(true);
    expect([...(await workersThatRan(next.id))]).toEqual([b]);
  });
});
