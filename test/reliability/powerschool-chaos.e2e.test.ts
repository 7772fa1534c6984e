import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { StudentSourceFactory } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { PowerSchoolClient } from '../../powerschool/client.js';
import { startSimulator, type SimulatedStudent } from '../../simulator/index.js';
import { testDb } from '../helpers/db.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runRow, startSync, startSyncWorker, syncTestConfig } from '../sync/harness.js';
import {
  ALL_GRADES,
  expectExactStudents,
  inScopeOf,
  LogSink,
  markerStudent,
  report,
  scanRunsForPersonalData,
  SOAK,
  sinkLogger,
} from './support.js';

/**
 * PowerSchool misbehaving in every way at once — 20% 5xx, 5% 429 with Retry-After,
 * dropped connections, a token that expires every few requests, a page that hangs until the
 * client gives up — while students are added, removed and changed between pages.
 *
 * What "exact" means while PowerSchool changes under the run (the run reads pages sorted by DCID):
 * - every student in scope for the whole read is synced, once, with the values PowerSchool holds;
 * - a student removed (or moved out of scope) before its page was read is not synced;
 * - a student added ahead of the read position is synced; one added behind it (a DCID in a gap
 *   below the pages already read) is not read by this run — the next run picks it up — and the
 *   row it pushes onto the next page is read twice and stored once;
 * - fetched = distinct records received; nothing is counted twice.
 * So the students table equals the in-scope set at the end of the read, minus the students added
 * behind the read position.
 */
const SEEDED = SOAK ? 6_000 : 700;
const PAGE_SIZE = SOAK ? 50 : 20;

/**
 * The worker's PowerSchool client as production builds it (activities/fetch-pages.ts), with a
 * 2 s request deadline instead of 30 s so the hung page costs seconds, and a hook that runs after
 * each page is first read: the "between pages" moment.
 */
function sourceWithHook(afterPage: (page: number) => void): StudentSourceFactory {
  // Keyed by the keyset cursor, so a retried read of the same page does not run the hook twice; the hook gets the 1-based count of pages read.
  const done = new Set<string>();
  const once = (key: string) => {
    if (!done.has(key)) {
      done.add(key);
      afterPage(done.size);
    }
  };
  return (credentials, allowInsecure) => {
    const client = new PowerSchoolClient({
      credentials,
      allowInsecure,
      maxAttempts: 2,
      retryBaseDelayMs: 250,
      maxRetryDelayMs: 5_000,
      timeoutMs: 2_000,
    });
    return {
      getMaxPageSize: () => client.getMaxPageSize(),
      countStudents: (scope) => client.countStudents(scope),
      async fetchStudentsAfter(scope, afterDcid, pageSize) {
        const rows = await client.fetchStudentsAfter(scope, afterDcid, pageSize);
        once(`after ${afterDcid ?? 'start'}`);
        return rows;
      },
    };
  };
}

describe('reliability: PowerSchool faults and changing records, all at once', () => {
  const logs = new LogSink();
  const workflowIds: string[] = [];
  const everyone: Pick<SimulatedStudent, 'first_name' | 'last_name' | 'dob'>[] = [markerStudent('Chaos')];
  const secrets: string[] = [];
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

  it('the run succeeds; students present throughout are all synced once; removals and additions as read', async () => {
    const started = Date.now();
    const sim = await startSimulator({ students: SEEDED, seed: 4242, faultSeed: 99, maxPageSize: PAGE_SIZE });
    const worker = { stop: async () => {} };
    try {
      sim.students.add({ ...markerStudent('Chaos'), grade_level: 11, enroll_status: 0 });
      const initial = inScopeOf(sim);
      const pages = Math.ceil(initial.length / PAGE_SIZE);
      const at = (page: number) => Math.floor(pages * page);
      const changes = {
        added: [] as number[],
        addedBehind: [] as number[],
        removed: [] as number[],
        leftBehind: [] as number[],
        updated: 0,
      };
      const aheadOf = (page: number, n: number, skip = 0) =>
        inScopeOf(sim)
          .slice(page * PAGE_SIZE + PAGE_SIZE + skip)
          .slice(0, n)
          .map((s) => s.dcid);

      const afterPage = (page: number) => {
        if (page === at(0.1)) {
          // New students ahead of the read position (new highest DCIDs), and some out of scope.
          for (let i = 0; i < 5; i++) changes.added.push(sim.students.add({ grade_level: 9, enroll_status: 0 }).dcid);
          for (let i = 0; i < 3; i++) sim.students.add({ grade_level: 9, enroll_status: 2 });
        } else if (page === at(0.3)) {
          // Removed, and moved out of scope, before their page is read.
          for (const dcid of aheadOf(page, 4)) {
            sim.students.remove(dcid);
            changes.removed.push(dcid);
          }
          for (const dcid of aheadOf(page, 2, 10)) {
            sim.students.update(dcid, { enroll_status: 2 });
            changes.removed.push(dcid);
          }
        } else if (page === at(0.5)) {
          // Changed before their page is read: the run reads the new values.
          for (const dcid of aheadOf(page, 5, 3)) {
            sim.students.update(dcid, { last_name: `Renamed-${dcid}`, gender: 'X' });
            changes.updated++;
          }
          // A student who comes into scope ahead of the read position.
          const outside = sim.students
            .list()
            .find((s) => s.enroll_status !== 0 && s.dcid > initial[(page + 2) * PAGE_SIZE]!.dcid);
          if (outside) {
            sim.students.update(outside.dcid, { enroll_status: 0 });
            changes.added.push(outside.dcid);
          }
        } else if (page === at(0.7)) {
          // Added behind the read position, in a DCID gap: not read by this run (see above).
          const read = inScopeOf(sim)[page * PAGE_SIZE - 1]!.dcid;
          const all = sim.students.list().map((s) => s.dcid);
          const gaps = all.filter((d, i) => i > 0 && d < read && d - all[i - 1]! > 1).slice(0, 2);
          for (const next of gaps) {
            changes.addedBehind.push(sim.students.add({ dcid: next - 1, grade_level: 12, enroll_status: 0 }).dcid);
          }
        } else if (page === at(0.8)) {
          // Withdrawn after their page was read (behind the read position): they were read while
          // in scope, so they are synced; and nobody after them may be skipped (keyset reading).
          for (const s of inScopeOf(sim).slice(PAGE_SIZE, PAGE_SIZE + 3)) {
            sim.students.update(s.dcid, { enroll_status: 2 });
            changes.leftBehind.push(s.dcid);
          }
        }
      };

      const config = syncTestConfig();
      const running = await startSyncWorker(client, config, db, {
        logger: sinkLogger(logs),
        powerschoolClientFactory: sourceWithHook(afterPage),
      });
      worker.stop = running.stop;
      const schoolId = uniqueSchoolId('chaos');
      const mapping = { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: true };
      await putIntegration(db, config, schoolId, sim, { grades: ALL_GRADES, mapping });
      secrets.push(sim.clientSecret);

      sim.setFaults({
        errorRate: 0.2,
        rateLimitRate: 0.05,
        retryAfterSeconds: 1,
        dropRate: 0.03,
        tokenExpiresEveryRequests: 7,
        // A request that hangs until the client gives up: every keyset request asks for page 1
        // of what lies after its cursor.
        timeoutPages: [1],
        // The random faults are seeded but the request order is not: a scripted prefix makes
        // sure each kind happens at least once.
        next: ['drop', 'rate-limit', 'error', 'ok', 'drop', 'error'],
      });
      const handle = await startSync(client, running.taskQueue, { schoolId, trigger: 'manual' });
      workflowIds.push(handle.workflowId);
      const result = await handle.result();
      const stats = sim.stats();
      sim.setFaults({});

      expect(changes.added.length).toBeGreaterThanOrEqual(5);
      expect(changes.removed).toHaveLength(6);
      expect(changes.addedBehind.length).toBeGreaterThanOrEqual(1);
      expect(changes.leftBehind).toHaveLength(3);
      expect(stats.faults.errors).toBeGreaterThan(0);
      expect(stats.faults.rateLimited).toBeGreaterThan(0);
      expect(stats.faults.dropped).toBeGreaterThan(0);
      expect(stats.faults.revokedTokens).toBeGreaterThan(0);
      expect(stats.faults.hung).toBeGreaterThanOrEqual(1);

      const behind = new Set(changes.addedBehind);
      const leftBehind = new Set(changes.leftBehind);
      const expected = sim.students
        .list()
        .filter((s) => (s.enroll_status === 0 && !behind.has(s.dcid)) || leftBehind.has(s.dcid));
      everyone.push(...sim.students.list());
      expect(result).toMatchObject({
        status: 'succeeded',
        counts: { fetched: expected.length, created: expected.length, updated: 0, unchanged: 0, invalid: 0 },
      });
      const exact = await expectExactStudents(db, schoolId, expected, mapping);
      // Present throughout: every one of them is there.
      const stored = new Set(
        (await db.selectFrom('students').select('dcid').where('school_id', '=', schoolId).execute()).map((r) => r.dcid),
      );
      const removed = new Set(changes.removed);
      const throughout = initial.filter((s) => !removed.has(s.dcid));
      expect(throughout.filter((s) => !stored.has(String(s.dcid)))).toEqual([]);
      for (const dcid of changes.removed) expect(stored.has(String(dcid))).toBe(false);
      for (const dcid of changes.added) expect(stored.has(String(dcid))).toBe(true);
      const run = await runRow(db, handle.workflowId);
      expect(run).toMatchObject({ status: 'succeeded', records_fetched: expected.length });

      report('PowerSchool faults + records changing between pages', {
        seeded: SEEDED + 1,
        inScopeAtStart: initial.length,
        inScopeAtEnd: inScopeOf(sim).length,
        pageSize: PAGE_SIZE,
        requests: stats.requests,
        http5xx: stats.faults.errors,
        http429: stats.faults.rateLimited,
        dropped: stats.faults.dropped,
        tokensRevoked: stats.faults.revokedTokens,
        pagesHung: stats.faults.hung,
        added: changes.added.length,
        addedBehindReadPosition: changes.addedBehind.length,
        removed: changes.removed.length,
        leftScopeBehindReadPosition: changes.leftBehind.length,
        updatedAhead: changes.updated,
        presentThroughout: throughout.length,
        recordsChecked: exact.checked,
        lost: exact.lost,
        duplicates: exact.duplicates,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    } finally {
      await worker.stop();
      await sim.close();
    }
  }, 300_000);

  it('no personal data in the run history, its search attributes or the worker’s logs', async () => {
    const findings = await scanRunsForPersonalData(client, { workflowIds, logs, students: everyone, secrets });
    expect(workflowIds).toHaveLength(1);
    expect(secrets).toHaveLength(1);
    expect(findings).toEqual([]);
    report('PowerSchool faults: personal-data scan', {
      histories: workflowIds.length,
      logLines: logs.lines(),
      studentsSearchedFor: everyone.length,
      findings: findings.length,
    });
  });
});
