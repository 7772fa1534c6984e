import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { StudentSourceFactory } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { PowerSchoolClient } from '../../powerschool/client.js';
import { startSimulator } from '../../simulator/index.js';
import { testDb } from '../helpers/db.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runSync, startSyncWorker, syncTestConfig } from '../sync/harness.js';
import { ALL_GRADES, inScopeOf } from './support.js';

/**
 * Bug 1 of docs/reliability.md (fixed by keyset paging): students leaving scope BEHIND the read position
 * between two pages (withdrawn, graduated, removed). With page numbers every later row moved up
 * one place and the rows at the next page boundary were never read — students in scope for the
 * whole run were silently not synced. The worker now reads by keyset (the last DCID read).
 */
describe('reliability: students leaving scope behind the read position', () => {
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

  it('every student in scope for the whole run is synced, even when others leave scope behind the read position', async () => {
    const sim = await startSimulator({ students: 200, seed: 5, maxPageSize: 10 });
    const removed: number[] = [];
    const factory: StudentSourceFactory = (credentials, allowInsecure) => {
      const ps = new PowerSchoolClient({ credentials, allowInsecure, maxAttempts: 2 });
      let reads = 0;
      const after = async (read: () => Promise<unknown[]>) => {
        const rows = await read();
        if (++reads === 3 && removed.length === 0) {
          // Three students of page 1 (already read and staged) withdraw.
          for (const s of inScopeOf(sim).slice(0, 3)) {
            sim.students.update(s.dcid, { enroll_status: 2 });
            removed.push(s.dcid);
          }
        }
        return rows;
      };
      return {
        getMaxPageSize: () => ps.getMaxPageSize(),
        countStudents: (scope) => ps.countStudents(scope),
        fetchStudentsAfter: (scope, afterDcid, pageSize) =>
          after(() => ps.fetchStudentsAfter(scope, afterDcid, pageSize)),
      };
    };
    const config = syncTestConfig();
    const worker = await startSyncWorker(client, config, db, { powerschoolClientFactory: factory });
    try {
      const schoolId = uniqueSchoolId('shift');
      await putIntegration(db, config, schoolId, sim, { grades: ALL_GRADES });
      const before = inScopeOf(sim);
      const result = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(result.status).toBe('succeeded');
      expect(removed, 'students withdrawn behind the read position during the run').toHaveLength(3);
      const stored = new Set(
        (await db.selectFrom('students').select('dcid').where('school_id', '=', schoolId).execute()).map((r) => r.dcid),
      );
      const throughout = before.filter((s) => !removed.includes(s.dcid));
      const lost = throughout.filter((s) => !stored.has(String(s.dcid))).map((s) => s.dcid);
      // With page numbers the three students at the page-3/page-4 boundary were lost.
      expect(lost).toEqual([]);
    } finally {
      await worker.stop();
      await sim.close();
    }
  });
});
