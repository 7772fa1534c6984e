import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { createDb, type Db } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';
import type { Simulator } from '../../simulator/index.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { testClient, testEnv, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import {
  comparable,
  expectedStudent,
  putIntegration,
  runRow,
  startSync,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Done-when 7 of issue 4: `worker.ts` as a real child process, SIGKILLed mid-run; a second one
 * finishes the run. The test has a database of its own, because worker.ts reconciles the
 * schedules of every integration in its database at start.
 */
describe('sync pipeline: a worker killed mid-run', () => {
  const databaseUrl = (() => {
    const url = new URL(testEnv.postgresServerUrl);
    url.pathname = `/pss_crash_${process.pid}_${randomUUID().slice(0, 8)}`;
    return url.toString();
  })();
  const config = syncTestConfig({ DATABASE_URL: databaseUrl });
  const children: ChildProcess[] = [];
  let db: Db;
  let client: Client;
  let sim: Simulator;
  let schoolId: string;

  beforeAll(async () => {
    await ensureDatabase(databaseUrl);
    db = createDb(databaseUrl, { max: 3, applicationName: 'powerschool-sync-test' });
    await migrateToLatest(db);
    client = await testClient();
    // ~20 pages at ~200 ms each: time enough to kill the worker in the middle.
    sim = await startTestSimulator({ students: 900, seed: 77, maxPageSize: 10, faults: { latencyMs: 200 } });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (schoolId)
      await client?.schedule
        .getHandle(scheduleIdFor(schoolId))
        .delete()
        .catch(() => {});
    await sim?.close();
    await db?.destroy();
    await client?.connection.close();
    await dropDatabase(databaseUrl).catch(() => {});
  });

  /** `node --import tsx worker.ts`: one process, so SIGKILL hits the worker itself (npx/tsx would fork). */
  async function startWorkerProcess(taskQueue: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: testEnv.temporalAddress,
        TEMPORAL_UI_URL: testEnv.temporalUiUrl,
        TEMPORAL_TASK_QUEUE: taskQueue,
        ALLOW_INSECURE_POWERSCHOOL: 'true',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('"msg":"worker started"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${code ?? signal}) before starting:\n${output}`));
      });
    });
    child.removeAllListeners('exit');
    return child;
  }

  it('7. after SIGKILL and a restart the run completes: nobody duplicated or lost, counts exact', async () => {
    schoolId = uniqueSchoolId('crash');
    const taskQueue = uniqueTaskQueue('crash');
    const mapping = { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: true };
    await putIntegration(db, config, schoolId, sim, { mapping });
    const inScope = sim.students.inScope(9, 12);
    const pages = Math.ceil(inScope.length / 10);
    expect(pages).toBeGreaterThanOrEqual(15);

    const first = await startWorkerProcess(taskQueue);
    const handle = await startSync(client, taskQueue, { schoolId, trigger: 'manual' });
    for (let i = 0; ; i++) {
      const row = await db
        .selectFrom('runs')
        .select('pages_fetched')
        .where('id', '=', handle.workflowId)
        .executeTakeFirst();
      if (row && row.pages_fetched >= 5) break;
      if (i > 600) throw new Error('the run never got going');
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await runRow(db, handle.workflowId);
    expect(atKill.status).toBe('running');
    expect(atKill.pages_fetched).toBeLessThan(pages);

    const second = await startWorkerProcess(taskQueue);
    const result = await handle.result();
    expect(result).toMatchObject({
      status: 'succeeded',
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 0 },
    });
    const rows = await studentsOf(db, schoolId);
    expect(new Set(rows.map((r) => r.dcid)).size).toBe(rows.length);
    expect(comparable(rows)).toEqual(inScope.map((s) => expectedStudent(s, mapping)));
    expect(await runRow(db, handle.workflowId)).toMatchObject({
      status: 'succeeded',
      count_created: inScope.length,
      records_fetched: inScope.length,
      pages_fetched: pages + (inScope.length % 10 === 0 ? 1 : 0),
    });
    const changes = await db.selectFrom('run_changes').select('dcid').where('run_id', '=', handle.workflowId).execute();
    expect(changes).toHaveLength(inScope.length);

    // And the restarted worker stops cleanly on SIGTERM.
    const exited = new Promise<number | null>((resolve) => second.once('exit', (code) => resolve(code)));
    second.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 180_000);
});
