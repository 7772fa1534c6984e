import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config.js';
import type { Db } from '../../db/connection.js';
import type { Simulator } from '../../simulator/index.js';
import { createApiMetrics } from '../../api/plugins/metrics.js';
import { RUN_DURATION_BUCKETS_SECONDS, WORKER_METRICS } from '../../worker/metrics.js';
import { createNamespace, namespaceClient } from '../api/support.js';
import { freshDatabase, type FreshDatabase } from '../helpers/db.js';
import { testEnv, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import { putIntegration, runRow, startSync, startTestSimulator, syncTestConfig } from '../sync/harness.js';
import { alertRules, dashboardQueries, seriesNames } from './deploy-files.js';
import { parseExposition, scrape, valueOf } from './scrape.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `npm run worker` (worker/main.ts) as a real process with WORKER_METRICS_PORT set: after a demo-sized commit
 * (3,000 students, a 429 and a 503 on the way) and a run that fails (a wrong client secret), its
 * one endpoint serves the SDK's metrics and each of ours with exact counts. A database and a
 * namespace of its own: worker/main.ts reconciles every schedule of its database into its namespace.
 */
describe('worker metrics', () => {
  let database: FreshDatabase;
  let config: Config;
  const taskQueue = uniqueTaskQueue('metrics');
  let namespace: string;
  let db: Db;
  let client: Client;
  let sim: Simulator;
  let worker: ChildProcess | undefined;
  let port: number;

  beforeAll(async () => {
    database = await freshDatabase('metrics');
    db = database.db;
    config = syncTestConfig({ DATABASE_URL: database.url });
    namespace = await createNamespace('metrics');
    client = await namespaceClient(namespace);
    sim = await startTestSimulator({
      students: 3000,
      maxPageSize: 100,
      // The first two data requests: a 429 (Retry-After 1 s) and a 503, both retried by the client.
      faults: { next: ['rate-limit', 'error'], retryAfterSeconds: 1 },
    });
    port = await freePort();
    worker = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: testEnv.temporalAddress,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        WORKFLOW_BUNDLE_PATH: testEnv.workflowBundlePath,
        ALLOW_INSECURE_POWERSCHOOL: 'true',
        WORKER_METRICS_PORT: String(port),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 90_000);
      worker!.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('"msg":"worker started"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      worker!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${code}) before starting:\n${output}`));
      });
    });
  }, 180_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await sim?.close();
    await client?.connection.close();
    await database?.drop();
  }, 60_000);

  it('serves the SDK metrics and every custom series with the right counts; the dashboard and alerts name only exported series', async () => {
    const good = uniqueSchoolId('good');
    const bad = uniqueSchoolId('bad');
    await putIntegration(db, config, good, sim, { grades: { from: -2, to: 12 } });
    await putIntegration(db, config, bad, sim, { clientSecret: 'not-the-secret' });

    const commit = await startSync(client, taskQueue, { schoolId: good, trigger: 'manual', testRun: false });
    const committed = await commit.result();
    const created = committed.counts!.created;
    expect(created).toBeGreaterThan(2000); // the enrolled ones of 3,000 seeded
    const failing = await startSync(client, taskQueue, { schoolId: bad, trigger: 'manual', testRun: false });
    await expect(failing.result()).rejects.toThrow();
    expect((await runRow(db, failing.workflowId))?.error_code).toBe('POWERSCHOOL_AUTH_FAILED');

    const { text, samples } = await scrape(port);
    // Ours: exact counts, our names, no school or run id anywhere.
    const runs = (status: string) =>
      valueOf(samples, WORKER_METRICS.runs, { status, trigger: 'manual', test_run: 'false' });
    expect(runs('succeeded')).toBe(1);
    expect(runs('failed')).toBe(1);
    expect(valueOf(samples, WORKER_METRICS.students, { change: 'create' })).toBe(created);
    expect(valueOf(samples, WORKER_METRICS.students, { change: 'update' })).toBe(0);
    // Every series starts at 0.
    for (const change of ['link', 'depart']) expect(valueOf(samples, WORKER_METRICS.students, { change })).toBe(0);
    expect(runs('cancelled')).toBe(0);
    expect(runs('discarded')).toBe(0);
    expect(valueOf(samples, `${WORKER_METRICS.runDuration}_count`)).toBe(2);
    const buckets = samples.filter((s) => s.name === `${WORKER_METRICS.runDuration}_bucket`).map((s) => s.labels.le);
    expect(buckets).toEqual([...RUN_DURATION_BUCKETS_SECONDS.map(String), '+Inf']);

    const requests = (outcome: string) => valueOf(samples, WORKER_METRICS.powerSchoolRequests, { outcome });
    expect(requests('network_error')).toBe(0);
    expect(requests('rate_limited')).toBe(1);
    expect(requests('server_error')).toBe(1);
    expect(requests('unauthorized')).toBe(1); // the wrong secret's token request
    // Every request the simulator answered, counted once.
    const counted = samples
      .filter((s) => s.name === WORKER_METRICS.powerSchoolRequests)
      .reduce((sum, s) => sum + s.value, 0);
    expect(counted).toBe(sim.stats().requests);
    expect(requests('ok')).toBe(sim.stats().requests - 3);

    expect(text).not.toContain(good);
    expect(text).not.toContain(bad);
    expect(text).not.toMatch(/^temporal_powerschool_sync/m);

    // The SDK's own series on the same endpoint: slots and schedule-to-start latency.
    expect(samples.some((s) => s.name === 'temporal_worker_task_slots_available')).toBe(true);
    expect(samples.some((s) => s.name.startsWith('temporal_activity_schedule_to_start_latency'))).toBe(true);
    expect(samples.some((s) => s.name.startsWith('temporal_workflow_task_schedule_to_start_latency'))).toBe(true);

    // Every dashboard query and alert rule names a series this worker or the API exports.
    const api = createApiMetrics(db);
    api.observeRequest({ method: 'GET', route: '/healthz', status: 200 }, 0.001);
    const exported = new Set([
      ...samples.map((s) => s.name),
      ...parseExposition(await api.registry.metrics()).map((s) => s.name),
    ]);
    for (const { panel, expr } of dashboardQueries())
      for (const name of seriesNames(expr)) expect(exported, `dashboard panel "${panel}"`).toContain(name);
    for (const { alert, expr } of alertRules())
      for (const name of seriesNames(expr)) expect(exported, `alert ${alert}`).toContain(name);
  }, 180_000);
});
