import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Simulator } from '../../simulator/index.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { freshDatabase, type FreshDatabase } from '../helpers/db.js';
import { testClient, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import type { NodeChild } from '../helpers/process.js';
import { waitForPages } from '../helpers/runs.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
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

/**
 * `npm run worker` as a real child process, SIGKILLed mid-run; a second one finishes the run. The
 * test has a database of its own, because the worker reconciles the schedules of every
 * integration in its database at start.
 */
describe('sync pipeline: a worker killed mid-run', () => {
  let database: FreshDatabase;
  let config: ReturnType<typeof syncTestConfig>;
  const children: NodeChild[] = [];
  let db: FreshDatabase['db'];
  let client: Client;
  let sim: Simulator;
  let schoolId: string;

  beforeAll(async () => {
    database = await freshDatabase('crash');
    db = database.db;
    config = syncTestConfig({ DATABASE_URL: database.url });
    client = await testClient();
    // ~20 pages at ~200 ms each: time enough to kill the worker in the middle.
    sim = await startTestSimulator({ students: 900, seed: 77, maxPageSize: 10, faults: { latencyMs: 200 } });
  });
  afterAll(async () => {
    for (const child of children) await child.kill();
    if (schoolId)
      await client?.schedule
        .getHandle(scheduleIdFor(schoolId))
        .delete()
        .catch(() => {});
    await sim?.close();
    await client?.connection.close();
    await database?.drop();
  });

  async function startWorker(taskQueue: string): Promise<NodeChild> {
    const child = await startWorkerProcess({ databaseUrl: database.url, taskQueue, env: { LOG_LEVEL: 'info' } });
    children.push(child);
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

    const first = await startWorker(taskQueue);
    const handle = await startSync(client, taskQueue, { schoolId, trigger: 'manual' });
    await waitForPages(db, handle.workflowId, 5);
    await first.kill();
    const atKill = await runRow(db, handle.workflowId);
    expect(atKill.status).toBe('running');
    expect(atKill.pages_fetched).toBeLessThan(pages);

    const second = await startWorker(taskQueue);
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
    expect((await second.stop()).code, second.output()).toBe(0);
  }, 180_000);
});
