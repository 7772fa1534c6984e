import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { StudentSourceFactory } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { testClient, testDb, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runSync, startSyncWorker, syncTestConfig } from '../sync/harness.js';

/**
 * Regression (found by records-fuzz): "0" and "00" look like integers but are not DCIDs. Rows
 * with them must each be named by position, so two such rows are two skipped records with an
 * issue each, not one shared issue counted once.
 */
const row = (dcid: unknown, extra: Record<string, unknown> = {}) => ({
  dcid,
  id: '1',
  student_number: '100',
  first_name: 'Ana',
  last_name: 'Lima',
  dob: '2009-01-02',
  gender: 'F',
  grade_level: '10',
  sched_yearofgraduation: '2028',
  enroll_status: '0',
  schoolid: '100',
  ...extra,
});

describe('bad rows with DCID "0" or "00" each get their own issue', () => {
  let db: Db;
  let client: Client;
  beforeAll(async () => {
    db = testDb();
    client = await testClient();
  });
  afterAll(async () => {
    await db?.destroy();
    await client?.connection.close();
  });

  async function runWith(rows: unknown[]) {
    const factory: StudentSourceFactory = () => ({
      getMaxPageSize: async () => 100,
      countStudents: async () => rows.length,
      fetchStudentPage: async (_scope, page) => (page === 1 ? structuredClone(rows) : []),
    });
    const config = syncTestConfig();
    const worker = await startSyncWorker(client, config, db, { powerschoolClientFactory: factory });
    try {
      const schoolId = uniqueSchoolId('nul');
      await putIntegration(
        db,
        config,
        schoolId,
        { url: 'https://ps.example.org', clientId: 'c', clientSecret: 's' },
        {
          mapping: { gender: true },
        },
      );
      return await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
    } finally {
      await worker.stop();
    }
  }

  it.each(['0', '00'])(
    'two rows with the same unreadable DCID %j: two skipped records, each with its issue',
    async (bad) => {
      const result = await runWith([row('5001'), row(bad), row(bad, { first_name: 'Other' })]);
      expect(result.counts).toMatchObject({ fetched: 3, created: 1, invalid: 2 }); // today: fetched 2, invalid 1
      const issues = await db.selectFrom('run_issues').selectAll().where('run_id', '=', result.workflowId).execute();
      expect(issues.filter((i) => i.skipped)).toHaveLength(2); // today: 1
    },
    120_000,
  );
});
