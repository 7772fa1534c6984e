import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { Migrator } from 'kysely';
import { createDb, type Db } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';
import { migrations } from '../../db/migrations/index.js';
import type { Simulator } from '../../simulator/index.js';
import { testClient, testEnv, uniqueSchoolId } from '../helpers/env.js';
import {
  expectedStudent,
  putIntegration,
  runSync,
  startSyncWorker,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

/** The last migration a v1 database had: the round-2 status vocabularies, before districts. */
const BEFORE_DISTRICTS = '2026_11_30_0100_round2_statuses';

/**
 * A school synced by v1 (students without a school number, leavers recorded in departed_students,
 * commits whose settings snapshot knows nothing of grade level) upgrades: its v1 leavers read
 * `departed`, and its first round-2 commit, with grade level switched on, writes only fills, which
 * the safety hold does not count.
 */
describe('upgrading a v1 school', () => {
  const config = syncTestConfig();
  let url: string;
  let db: Db;
  let client: Client;
  let sim: Simulator;

  beforeAll(async () => {
    const server = new URL(testEnv.postgresServerUrl);
    server.pathname = `/pss_v1_upgrade_${process.pid}_${Date.now()}`;
    url = server.toString();
    await ensureDatabase(url);
    db = createDb(url, { max: 5 });
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const { error } = await migrator.migrateTo(BEFORE_DISTRICTS);
    if (error) throw error;
    client = await testClient();
    sim = await startTestSimulator({ students: 300, seed: 71 });
  });
  afterAll(async () => {
    await sim?.close();
    await db?.destroy();
    await dropDatabase(url).catch(() => {});
    await client?.connection.close();
  });

  it('7. v1 leavers read departed; the first round-2 commit holds nothing back: every update is a fill', async () => {
    const schoolId = uniqueSchoolId();
    const v1Mapping = { dateOfBirth: true, gender: true };
    const inScope = sim.students.inScope(9, 12);
    const leavers = sim.students
      .list()
      .filter((s) => s.enroll_status !== 0 && s.grade_level >= 9)
      .slice(0, 4);
    const v1Commit = `${schoolId}-v1-commit`;
    await db
      .insertInto('runs')
      .values({
        id: v1Commit,
        school_id: schoolId,
        trigger: 'schedule',
        test_run: false,
        status: 'succeeded',
        finished_at: new Date(),
        applied_at: new Date(),
        settings: JSON.stringify({
          serverUrl: sim.url,
          clientId: sim.clientId,
          grades: { from: 9, to: 12 },
          mapping: { powerschoolId: 'DCID', ...v1Mapping },
          testRun: false,
          notifications: { enabled: false, recipients: [] },
        }),
      })
      .execute();
    await db
      .insertInto('students')
      .values(
        [...inScope, ...leavers].map((s) => {
          const e = expectedStudent(s, v1Mapping);
          return { school_id: schoolId, ...e, last_seen_run_id: v1Commit };
        }),
      )
      .execute();
    const departedAt = new Date('2026-06-30T02:00:00Z');
    await db
      .insertInto('departed_students')
      .values(
        leavers.map((s) => ({
          school_id: schoolId,
          dcid: String(s.dcid),
          last_seen_run_id: v1Commit,
          departed_at: departedAt,
        })),
      )
      .execute();

    await migrateToLatest(db);

    const upgraded = await studentsOf(db, schoolId);
    const leaverDcids = new Set(leavers.map((s) => String(s.dcid)));
    for (const r of upgraded) {
      if (leaverDcids.has(r.dcid)) {
        expect(r).toMatchObject({ status: 'departed', departure_reason: null, departed_at: departedAt });
      } else {
        expect(r).toMatchObject({ status: 'active', departure_reason: null, departed_at: null, school_number: null });
      }
    }

    await putIntegration(db, config, schoolId, sim, { mapping: { ...v1Mapping, gradeLevel: true } });
    const worker = await startSyncWorker(client, config, db);
    try {
      const first = await runSync(client, worker.taskQueue, { schoolId, trigger: 'schedule' });
      expect(first.counts).toMatchObject({ created: 0, departed: 0, updated: inScope.length, missing: leavers.length });
      const changes = await db
        .selectFrom('run_changes')
        .select(['type', 'fill'])
        .where('run_id', '=', first.runId)
        .execute();
      expect(changes).toHaveLength(inScope.length);
      expect(changes.every((c) => c.type === 'update' && c.fill)).toBe(true);
      const after = new Map((await studentsOf(db, schoolId)).map((r) => [r.dcid, r]));
      for (const s of inScope)
        expect(after.get(String(s.dcid))).toMatchObject({ school_number: s.schoolid, grade_level: s.grade_level });
      for (const dcid of leaverDcids)
        expect(after.get(dcid)).toMatchObject({ status: 'departed', departure_reason: null });

      const again = await runSync(client, worker.taskQueue, { schoolId, trigger: 'schedule' });
      expect(again.counts).toMatchObject({ created: 0, updated: 0, departed: 0, unchanged: inScope.length });
    } finally {
      await worker.stop();
    }
  });
});
