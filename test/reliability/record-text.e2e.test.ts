import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { StudentSourceFactory } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { testDb } from '../helpers/db.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runSync, startSyncWorker, syncTestConfig } from '../sync/harness.js';

/**
 * Bugs 3 and 4 of docs/reliability.md (fixed in activities/fetch-pages.ts and powerschool/records.ts), found by
 * records-fuzz: U+0000 in an unreadable DCID or in a gender reached PostgreSQL and failed the
 * whole run after ten retries; two bad rows with the same unreadable DCID text shared one issue,
 * so one had no issue of its own and `fetched`/`invalid` counted them once.
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

describe('reliability: record text PostgreSQL cannot store; bad rows sharing a DCID text', () => {
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
      fetchStudentsAfter: async (_scope, afterDcid) => (afterDcid === null ? structuredClone(rows) : []),
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

  it('NUL in a DCID or a gender: the bad rows become issues, the run succeeds', async () => {
    const result = await runWith([row('5001'), row('12\u0000'), row('5003', { gender: 'M\u0000' })]);
    expect(result.status).toBe('succeeded');
    expect(result.counts).toMatchObject({ fetched: 3, invalid: 1 });
  }, 300_000);

  // "0" and "00" look like integers but are not DCIDs either.
  it.each(['abc', '-1', '12.5', '0', '00'])(
    'two rows with the same unreadable DCID %j: two skipped records, each with its issue',
    async (bad) => {
      const result = await runWith([row('5001'), row(bad), row(bad, { first_name: 'Other' })]);
      expect(result.counts).toMatchObject({ fetched: 3, created: 1, invalid: 2 });
      const issues = await db.selectFrom('run_issues').selectAll().where('run_id', '=', result.workflowId).execute();
      expect(issues.filter((i) => i.skipped)).toHaveLength(2);
    },
    120_000,
  );
});
