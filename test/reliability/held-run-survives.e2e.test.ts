import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../api/app.js';
import { createLogger } from '../../logging/logger.js';
import { freePort } from '../../scripts/lib/ports.js';
import { startTemporalDevServer, type DevServer } from '../../scripts/lib/temporal-dev-server.js';
import type { Simulator } from '../../simulator/index.js';
import { AUTH, LogCapture, settings, testConfig } from '../api/support.js';
import { freshDatabase, type FreshDatabase } from '../helpers/db.js';
import { testEnv, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import type { NodeChild } from '../helpers/process.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { startTestSimulator, studentsOf } from '../sync/harness.js';
import { ALL_GRADES, report } from './support.js';

/**
 * A held run is a waiting workflow, not a process: it outlives the worker (SIGKILLed) and the
 * Temporal server (stopped and started again on the same SQLite file), and can be approved
 * after both. While no worker runs, an approve answers 503 TEMPORAL_UNAVAILABLE and changes
 * nothing, even once a worker is back.
 */
describe('reliability: a held run survives a worker SIGKILL and a Temporal server restart', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pss-held-run-'));
  const dbFile = join(tmp, 'temporal.sqlite');
  let port: number;
  let uiPort: number;
  let server: DevServer | undefined;
  let database: FreshDatabase;
  let client: Client;
  let app: FastifyInstance;
  let sim: Simulator;
  let worker: NodeChild | undefined;
  const taskQueue = uniqueTaskQueue('held');

  const startServer = () => startTemporalDevServer({ cliPath: testEnv.temporalCliPath, port, uiPort, dbFile });
  const startWorker = () =>
    startWorkerProcess({ databaseUrl: database.url, taskQueue, temporalAddress: server!.address });
  const req = (o: InjectOptions) => app.inject({ ...o, headers: { ...AUTH, ...(o.headers ?? {}) } });

  beforeAll(async () => {
    [port, uiPort] = [await freePort(), await freePort()];
    [server, database, sim] = await Promise.all([
      startServer(),
      freshDatabase('held'),
      startTestSimulator({ students: 150, maxPageSize: 100 }),
    ]);
    client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
    const config = testConfig({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ALLOW_INSECURE_POWERSCHOOL: 'true',
    });
    app = await buildApp({
      config,
      db: database.db,
      temporalClient: client,
      logger: createLogger(config, new LogCapture()),
      rateLimit: false,
    });
    await app.ready();
    worker = await startWorker();
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await client?.connection.close().catch(() => {});
    await server?.stop();
    await sim?.close();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function runUntil(schoolId: string, runId: string, statuses: string[]) {
    let run: { status: string; error: { code: string } | null } | undefined;
    await vi.waitFor(
      async () => {
        run = (await req({ method: 'GET', url: `/v1/schools/${schoolId}/runs/${runId}` })).json();
        expect(statuses, JSON.stringify(run)).toContain(run!.status);
      },
      { timeout: 90_000, interval: 200 },
    );
    return run!;
  }

  it('held, worker SIGKILLed (approve → 503, nothing changed), server restarted, worker back: approve commits', async () => {
    const started = Date.now();
    const schoolId = uniqueSchoolId('held');
    const put = await req({
      method: 'PUT',
      url: `/v1/schools/${schoolId}/integration`,
      payload: settings({
        powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
        grades: ALL_GRADES,
        active: true,
        testRun: false,
      }),
    });
    expect(put.statusCode, put.body).toBe(201);
    const first = (await req({ method: 'POST', url: `/v1/schools/${schoolId}/runs`, payload: {} })).json();
    await runUntil(schoolId, first.id, ['succeeded']);

    const inScope = sim.students.inScope(ALL_GRADES.from, ALL_GRADES.to);
    const renamed = inScope.slice(0, Math.ceil(inScope.length * 0.8));
    for (const s of renamed) sim.students.update(s.dcid, { last_name: `${s.last_name.trim()}-Kept` });
    const commit = (await req({ method: 'POST', url: `/v1/schools/${schoolId}/runs`, payload: {} })).json();
    await runUntil(schoolId, commit.id, ['held']);
    const before = await studentsOf(database.db, schoolId);

    expect((await worker!.kill()).signal).toBe('SIGKILL');
    worker = undefined;
    const refusedAt = Date.now();
    const refused = await req({ method: 'POST', url: `/v1/schools/${schoolId}/runs/${commit.id}/approve` });
    const refusedMs = Date.now() - refusedAt;
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.json().error.code).toBe('TEMPORAL_UNAVAILABLE');
    expect(refusedMs).toBeGreaterThanOrEqual(10_000);

    await server!.stop();
    server = await startServer();
    worker = await startWorker();

    // Still held: neither the refused approve nor the restarts moved it.
    expect((await req({ method: 'GET', url: `/v1/schools/${schoolId}/runs/${commit.id}` })).json().status).toBe('held');
    const approved = await req({ method: 'POST', url: `/v1/schools/${schoolId}/runs/${commit.id}/approve` });
    expect(approved.statusCode, approved.body).toBe(202);
    expect(approved.json().status).toBe('running');
    const done = await runUntil(schoolId, commit.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', error: null });

    const after = await studentsOf(database.db, schoolId);
    const renamedDcids = new Set(renamed.map((s) => String(s.dcid)));
    expect(after.filter((s) => renamedDcids.has(s.dcid)).every((s) => s.last_name.endsWith('-Kept'))).toBe(true);
    expect(after.filter((s) => !renamedDcids.has(s.dcid))).toEqual(before.filter((s) => !renamedDcids.has(s.dcid)));
    expect(after.filter((s) => s.last_name.endsWith('-Kept'))).toHaveLength(renamed.length);

    report('held run: worker SIGKILL and Temporal restart', {
      inScope: inScope.length,
      heldUpdates: renamed.length,
      refusedApproveMs: refusedMs,
      seconds: Math.round((Date.now() - started) / 1000),
    });
  }, 300_000);
});
