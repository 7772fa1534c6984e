import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connection.js';
import type { Simulator } from '../../powerschool/simulator/index.js';
import { testClient, testDb, uniqueSchoolId } from '../helpers/env.js';
import {
  comparable,
  expectedStudent,
  putIntegration,
  runRow,
  runSync,
  startSyncWorker,
  startTestSimulator,
  studentsOf,
  syncTestConfig,
} from './harness.js';

/** Done-when 1–4 of issue 4: commit, preview, incremental and mapping changes, on real services. */
describe('sync pipeline: commit runs', () => {
  const config = syncTestConfig();
  let db: Db;
  let client: Client;
  let sim: Simulator;
  let worker: Awaited<ReturnType<typeof startSyncWorker>>;

  beforeAll(async () => {
    db = testDb();
    client = await testClient();
    sim = await startTestSimulator({ students: 300, seed: 11 });
    worker = await startSyncWorker(client, config, db);
  });
  afterAll(async () => {
    await worker?.stop();
    await sim?.close();
    await db?.destroy();
    await client?.connection.close();
  });

  it.each([
    { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: true },
    { powerschoolId: 'STUDENT_NUMBER' as const, dateOfBirth: false, gender: false },
  ])('1. a commit creates every in-scope student with exactly the right fields (mapping %o)', async (mapping) => {
    const schoolId = uniqueSchoolId();
    await putIntegration(db, config, schoolId, sim, { grades: { from: 9, to: 12 }, mapping });
    // A student synced earlier who is now inactive in PowerSchool: kept exactly as it was.
    const inactive = sim.students.list().find((s) => s.enroll_status !== 0 && s.grade_level >= 9)!;
    await db
      .insertInto('students')
      .values({
        school_id: schoolId,
        dcid: String(inactive.dcid),
        student_number: 'old',
        first_name: 'Old',
        last_name: 'Record',
        graduation_year: 2000,
      })
      .execute();
    const before = await db.selectFrom('students').selectAll().where('school_id', '=', schoolId).executeTakeFirst();

    const result = await runSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });

    const inScope = sim.students.inScope(9, 12);
    expect(inScope.length).toBeGreaterThan(20);
    expect(result).toMatchObject({
      status: 'succeeded',
      testRun: false,
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 1 },
    });
    const rows = await studentsOf(db, schoolId);
    const expected = inScope.map((s) => expectedStudent(s, mapping));
    const stored = comparable(rows).filter((r) => r.dcid !== String(inactive.dcid));
    expect(stored).toEqual(expected);
    // Out-of-range grades and inactive students are neither created nor touched.
    expect(rows.find((r) => r.dcid === String(inactive.dcid))).toEqual(before);
    const outOfScope = new Set(
      sim.students
        .list()
        .filter((s) => s.enroll_status !== 0 || s.grade_level < 9 || s.grade_level > 12)
        .map((s) => String(s.dcid)),
    );
    expect(stored.filter((r) => outOfScope.has(r.dcid))).toEqual([]);

    const run = await runRow(db, result.workflowId);
    expect(run).toMatchObject({
      status: 'succeeded',
      school_id: schoolId,
      trigger: 'manual',
      test_run: false,
      count_created: inScope.length,
      records_fetched: inScope.length,
      records_total: inScope.length,
      pages_fetched: Math.ceil(inScope.length / 20) + (inScope.length % 20 === 0 ? 1 : 0),
      error_code: null,
      notification_status: 'disabled',
    });
    expect(run.finished_at).not.toBeNull();
    expect(run.settings).toMatchObject({ mapping, grades: { from: 9, to: 12 }, testRun: false });
    expect(JSON.stringify(run.settings)).not.toContain(sim.clientSecret);
    const staged = await db.selectFrom('staged_students').select('dcid').where('run_id', '=', run.id).execute();
    expect(staged).toEqual([]);
    const changes = await db.selectFrom('run_changes').selectAll().where('run_id', '=', run.id).execute();
    expect(changes).toHaveLength(inScope.length);
    const oneChange = changes.find((c) => c.dcid === String(inScope[0]!.dcid))!;
    expect(oneChange.before).toBeNull();
    const e = expected[0]!;
    expect(oneChange.after).toEqual({
      dcid: e.dcid,
      studentNumber: e.student_number,
      firstName: e.first_name,
      lastName: e.last_name,
      graduationYear: e.graduation_year,
      ...(mapping.dateOfBirth ? { dateOfBirth: e.date_of_birth } : {}),
      ...(mapping.gender ? { gender: e.gender } : {}),
    });
  });
});
