import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Db } from '../../db/connection.js';
import { listStudents } from '../../db/queries/listings.js';
import { uniqueSchoolId } from '../helpers/env.js';
import {
  comparable,
  departureReasonOf,
  expectedStudent,
  putIntegration,
  runRow,
  runSync,
  studentsOf,
  startTestSimulator,
  useSyncStack,
} from './harness.js';

/** Commit, preview, incremental and mapping changes, on real services. */
describe('sync pipeline: commit runs', () => {
  const stack = useSyncStack({ simulator: { students: 300, seed: 11 } });
  const { config } = stack;

  it.each([
    { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: true },
    { powerschoolId: 'STUDENT_NUMBER' as const, dateOfBirth: false, gender: false },
  ])('1. a commit creates every in-scope student with exactly the right fields (mapping %o)', async (mapping) => {
    const schoolId = uniqueSchoolId();
    await putIntegration(stack.db, config, schoolId, stack.sim, { grades: { from: 9, to: 12 }, mapping });
    // A student synced earlier who is now inactive in PowerSchool: kept exactly as it was.
    const inactive = stack.sim.students.list().find((s) => s.enroll_status !== 0 && s.grade_level >= 9)!;
    await stack.db
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
    const before = await stack.db
      .selectFrom('students')
      .selectAll()
      .where('school_id', '=', schoolId)
      .executeTakeFirst();

    const result = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });

    const inScope = stack.sim.students.inScope(9, 12);
    expect(inScope.length).toBeGreaterThan(20);
    expect(result).toMatchObject({
      status: 'succeeded',
      testRun: false,
      counts: { fetched: inScope.length, created: inScope.length, updated: 0, unchanged: 0, invalid: 0, missing: 1 },
    });
    const rows = await studentsOf(stack.db, schoolId);
    const expected = inScope.map((s) => expectedStudent(s, mapping));
    const stored = comparable(rows).filter((r) => r.dcid !== String(inactive.dcid));
    expect(stored).toEqual(expected);
    // Out-of-range grades and inactive students are not created; the inactive one synced earlier
    // keeps its data and is marked departed, with PowerSchool's reason.
    expect(rows.find((r) => r.dcid === String(inactive.dcid))).toEqual({
      ...before,
      status: 'departed',
      departed_at: expect.any(Date),
      departure_reason: departureReasonOf(inactive.enroll_status),
      updated_at: expect.any(Date),
    });
    const outOfScope = new Set(
      stack.sim.students
        .list()
        .filter((s) => s.enroll_status !== 0 || s.grade_level < 9 || s.grade_level > 12)
        .map((s) => String(s.dcid)),
    );
    expect(stored.filter((r) => outOfScope.has(r.dcid))).toEqual([]);

    const run = await runRow(stack.db, result.workflowId);
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
    expect(JSON.stringify(run.settings)).not.toContain(stack.sim.clientSecret);
    const staged = await stack.db.selectFrom('staged_students').select('dcid').where('run_id', '=', run.id).execute();
    expect(staged).toEqual([]);
    const changes = await stack.db.selectFrom('run_changes').selectAll().where('run_id', '=', run.id).execute();
    expect(changes).toHaveLength(inScope.length + 1); // and the inactive one's depart
    const oneChange = changes.find((c) => c.dcid === String(inScope[0]!.dcid))!;
    expect(oneChange.before).toBeNull();
    const e = expected[0]!;
    expect(oneChange.after).toEqual({
      dcid: e.dcid,
      studentNumber: e.student_number,
      firstName: e.first_name,
      lastName: e.last_name,
      graduationYear: e.graduation_year,
      schoolNumber: inScope[0]!.schoolid,
      ...(mapping.dateOfBirth ? { dateOfBirth: e.date_of_birth } : {}),
      ...(mapping.gender ? { gender: e.gender } : {}),
    });
  });

  it('2. a test run writes no student and records the preview; the next commit makes exactly those changes', async () => {
    const own = await startTestSimulator({ students: 200, seed: 21 });
    try {
      const schoolId = uniqueSchoolId();
      const mapping = { powerschoolId: 'DCID' as const, dateOfBirth: true, gender: false };
      await putIntegration(stack.db, config, schoolId, own, { mapping, testRun: true });
      const first = await runSync(stack.client, stack.worker.taskQueue, {
        schoolId,
        trigger: 'manual',
        testRun: false,
      });
      expect(first.counts?.created).toBe(own.students.inScope(9, 12).length);

      const [a, b, c] = own.students.inScope(9, 12);
      own.students.update(a!.dcid, { last_name: 'Renamed-Ä' });
      own.students.update(b!.dcid, { dob: '2009-01-02' });
      own.students.update(c!.dcid, { gender: 'F' === c!.gender ? 'M' : 'F' }); // not synced: no change
      own.students.add({ grade_level: 10, enroll_status: 0 });
      own.students.add({ grade_level: 12, enroll_status: 0 });
      const snapshot = await studentsOf(stack.db, schoolId);

      // No testRun in the input: the integration's setting (test run) applies.
      const preview = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(preview).toMatchObject({ status: 'succeeded', testRun: true });
      expect(preview.counts).toMatchObject({ created: 2, updated: 2, missing: 0, invalid: 0 });
      expect(await studentsOf(stack.db, schoolId)).toEqual(snapshot);
      const previewRun = await runRow(stack.db, preview.workflowId);
      expect(previewRun).toMatchObject({ test_run: true, status: 'succeeded', count_created: 2, count_updated: 2 });
      const previewed = await changesOf(stack.db, preview.workflowId);
      expect(previewed.map((ch) => ch.type).sort()).toEqual(['create', 'create', 'update', 'update']);
      const renamed = previewed.find((ch) => ch.dcid === String(a!.dcid))!;
      expect(renamed.before).toMatchObject({ lastName: a!.last_name });
      expect(renamed.after).toMatchObject({ lastName: 'Renamed-Ä' });

      const commit = await runSync(stack.client, stack.worker.taskQueue, {
        schoolId,
        trigger: 'manual',
        testRun: false,
      });
      expect(commit.counts).toEqual(preview.counts);
      expect(await changesOf(stack.db, commit.workflowId)).toEqual(previewed);
      const after = comparable(await studentsOf(stack.db, schoolId));
      expect(after).toEqual(own.students.inScope(9, 12).map((s) => expectedStudent(s, mapping)));
    } finally {
      await own.close();
    }
  });

  it('3. incremental: 5 renames, 3 additions, 2 removals → updated 5, created 3, missing 2; only those rows written', async () => {
    const own = await startTestSimulator({ students: 300, seed: 31 });
    try {
      const schoolId = uniqueSchoolId();
      const mapping = { powerschoolId: 'DCID' as const, dateOfBirth: false, gender: true };
      await putIntegration(stack.db, config, schoolId, own, { mapping });
      const first = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'schedule' });
      const n = own.students.inScope(9, 12).length;
      expect(first.counts).toMatchObject({ created: n, updated: 0, unchanged: 0 });
      const before = new Map((await studentsOf(stack.db, schoolId)).map((r) => [r.dcid, r]));
      const xminBefore = await rowVersions(stack.db, schoolId);

      const inScope = own.students.inScope(9, 12);
      const renamed = inScope.slice(0, 5);
      renamed.forEach((s, i) => own.students.update(s.dcid, { first_name: `Renamed${'ab'[i % 2]}${i}` }));
      const removed = inScope.slice(10, 12);
      removed.forEach((s) => own.students.remove(s.dcid));
      const added = [9, 10, 11].map((g) => own.students.add({ grade_level: g, enroll_status: 0 }));

      const second = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'schedule' });
      expect(second.counts).toEqual({
        fetched: n + 3 - 2,
        created: 3,
        updated: 5,
        unchanged: n - 5 - 2,
        invalid: 0,
        missing: 2,
        departed: 2,
        linked: 0,
        needsReview: 0,
      });
      const rows = await studentsOf(stack.db, schoolId);
      expect(rows).toHaveLength(n + 3); // the removed two are kept, as departed
      const touched = rows.filter((r) => {
        const old = before.get(r.dcid);
        return !old || millis(old.updated_at) !== millis(r.updated_at) || old.first_name !== r.first_name;
      });
      expect(touched.map((r) => r.dcid).sort()).toEqual(
        [...renamed, ...added, ...removed].map((s) => String(s.dcid)).sort(),
      );
      for (const s of removed) {
        const kept = rows.find((r) => r.dcid === String(s.dcid))!;
        expect(kept).toEqual({
          ...before.get(String(s.dcid)),
          status: 'departed',
          departed_at: expect.any(Date),
          departure_reason: 'not_found',
          updated_at: expect.any(Date),
        });
      }
      // Rows PostgreSQL wrote (their row version moved): exactly the renamed and the added.
      const xminAfter = await rowVersions(stack.db, schoolId);
      const written = [...xminAfter].filter(([dcid, xmin]) => xminBefore.get(dcid) !== xmin).map(([dcid]) => dcid);
      expect(written.sort()).toEqual([...renamed, ...added, ...removed].map((s) => String(s.dcid)).sort());
      // lastSeenRunId as the API reads it: the second run for everyone it saw, the first for those gone.
      const listed = (await listStudents(stack.db, schoolId, { limit: 10_000 })).items;
      expect(listed).toHaveLength(n + 3);
      for (const r of listed) {
        const gone = removed.some((s) => String(s.dcid) === r.dcid);
        expect(r.last_seen_run_id).toBe(gone ? first.workflowId : second.workflowId);
      }
      expect(comparable(rows.filter((r) => !removed.some((s) => String(s.dcid) === r.dcid)))).toEqual(
        own.students.inScope(9, 12).map((s) => expectedStudent(s, mapping)),
      );
      expect(await changesOf(stack.db, second.workflowId)).toHaveLength(10);
    } finally {
      await own.close();
    }
  });

  it('4. switching the mapping DCID → STUDENT_NUMBER and back duplicates nobody', async () => {
    const own = await startTestSimulator({ students: 200, seed: 41 });
    try {
      const schoolId = uniqueSchoolId();
      const n = own.students.inScope(9, 12).length;
      await putIntegration(stack.db, config, schoolId, own, { mapping: { powerschoolId: 'DCID' } });
      const first = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(first.counts).toMatchObject({ created: n });
      const stored = await studentsOf(stack.db, schoolId);

      await putIntegration(stack.db, config, schoolId, own, { mapping: { powerschoolId: 'STUDENT_NUMBER' } });
      const second = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(second.counts).toMatchObject({ created: 0, updated: 0, unchanged: n, missing: 0 });

      // The school renumbers a student while STUDENT_NUMBER is the displayed id: still one student.
      const renumbered = own.students.inScope(9, 12)[3]!;
      own.students.update(renumbered.dcid, { student_number: '987654' });
      const third = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(third.counts).toMatchObject({ created: 0, updated: 1, unchanged: n - 1, missing: 0 });

      await putIntegration(stack.db, config, schoolId, own, { mapping: { powerschoolId: 'DCID' } });
      const fourth = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(fourth.counts).toMatchObject({ created: 0, updated: 0, unchanged: n, missing: 0 });

      const rows = await studentsOf(stack.db, schoolId);
      expect(rows).toHaveLength(n);
      expect(new Set(rows.map((r) => r.dcid)).size).toBe(n);
      expect(rows.map((r) => r.id)).toEqual(stored.map((r) => r.id));
      expect(rows.find((r) => r.dcid === String(renumbered.dcid))?.student_number).toBe('987654');
    } finally {
      await own.close();
    }
  });
});

async function changesOf(db: Db, runId: string) {
  return db
    .selectFrom('run_changes')
    .select(['dcid', 'type', 'before', 'after'])
    .where('run_id', '=', runId)
    .orderBy('dcid')
    .execute();
}

/** db/types.ts types Generated<Timestamp> loosely; pg hands us a Date. */
function millis(value: unknown): number {
  return (value as Date).getTime();
}

/** Each student's row version (xmin): it moves whenever PostgreSQL writes the row. */
async function rowVersions(db: Db, schoolId: string): Promise<Map<string, string>> {
  const { rows } = await sql<{ dcid: string; xmin: string }>`
    select dcid::text, xmin::text from students where school_id = ${schoolId}`.execute(db);
  return new Map(rows.map((r) => [r.dcid, r.xmin]));
}
