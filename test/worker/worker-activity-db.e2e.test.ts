import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connection.js';
import { testDb } from '../helpers/db.js';
import { createTestWorker, testClient, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import type { ProbeActivities } from '../fixtures/probe-workflow.js';

describe('foundation: worker → activity → PostgreSQL on a real Temporal server', () => {
  let db: Db;
  let client: Client;
  beforeAll(async () => {
    db = testDb();
    client = await testClient();
  });
  afterAll(async () => {
    await db.destroy();
    await client.connection.close();
  });

  it('runs a workflow whose activity writes a row that the test reads back', async () => {
    const taskQueue = uniqueTaskQueue();
    const schoolId = uniqueSchoolId();
    const activities: ProbeActivities = {
      async writeProbeRow({ id, schoolId }) {
        await db.insertInto('runs').values({ id, school_id: schoolId, trigger: 'manual', test_run: true }).execute();
        return id;
      },
    };
    const worker = await createTestWorker({ taskQueue, activities });
    const workflowId = `probe-${schoolId}`;
    const result = await worker.runUntil(
      client.workflow.execute('recordProbe', { taskQueue, workflowId, args: [{ id: workflowId, schoolId }] }),
    );
    expect(result).toBe(workflowId);
    const row = await db.selectFrom('runs').selectAll().where('id', '=', workflowId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ school_id: schoolId, status: 'running', trigger: 'manual', test_run: true });

    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const completed = history.events?.find((e) => e.activityTaskCompletedEventAttributes);
    expect(completed).toBeDefined();
  });
});
