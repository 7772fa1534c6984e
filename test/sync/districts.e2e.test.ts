import { describe, expect, it } from 'vitest';
import type { Db } from '../../db/connection.js';
import { listStudents } from '../../db/queries/listings.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runSync, studentsOf, startTestSimulator, useSyncStack } from './harness.js';

/**
 * A district: one PowerSchool server, three schools (100, 200, 300) whose records interleave by
 * DCID. A Cialfo school syncs only the PowerSchool schools it selects, and learns from PowerSchool
 * why each student who left is gone.
 */
describe('districts: selected schools and departures', () => {
  const stack = useSyncStack({ simulator: { students: 600, schools: 3, seed: 12 } });
  const { config } = stack;

  const dcidsOf = (rows: { dcid: number | string | null }[]) => rows.map((r) => String(r.dcid)).sort();

  it.each([
    { schools: [200], label: 'school B' },
    { schools: [200, 300], label: 'schools B and C' },
    { schools: [], label: 'every school (v1)' },
  ])('1. selecting $label syncs exactly its in-scope students', async ({ schools }) => {
    const schoolId = uniqueSchoolId();
    await putIntegration(stack.db, config, schoolId, stack.sim, { grades: { from: 9, to: 12 }, schools });
    const expected = stack.sim.students.inScope(9, 12, schools);
    expect(expected.length).toBeGreaterThan(20); // several pages of 20 per school

    const result = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });

    expect(result.counts).toMatchObject({ fetched: expected.length, created: expected.length, departed: 0 });
    const rows = await studentsOf(stack.db, schoolId);
    expect(dcidsOf(rows)).toEqual(dcidsOf(expected));
    const schoolOf = new Map(expected.map((s) => [String(s.dcid), s.schoolid]));
    for (const r of rows) expect(r.school_number).toBe(schoolOf.get(r.dcid));
    // One request in flight per PowerSchool server, whatever the number of school passes.
    expect(stack.sim.stats().maxConcurrent).toBe(1);
  });

  it('3. each kind of leaver ends departed with its reason; a return makes the student active again', async () => {
    const schoolId = uniqueSchoolId();
    const selected = [100, 200];
    await putIntegration(stack.db, config, schoolId, stack.sim, { grades: { from: 9, to: 12 }, schools: selected });
    const first = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(first.counts).toMatchObject({ departed: 0 });

    const [graduate, transfer, inactive, moved, demoted, deleted, movedWithin] = stack.sim.students
      .inScope(9, 11, [100])
      .slice(0, 7);
    stack.sim.students.leave(graduate!.dcid, 'graduated');
    stack.sim.students.leave(transfer!.dcid, 'transferred');
    stack.sim.students.leave(inactive!.dcid, 'inactive');
    stack.sim.students.leave(moved!.dcid, 'moved', 300);
    stack.sim.students.update(demoted!.dcid, { grade_level: 8 });
    stack.sim.students.leave(deleted!.dcid, 'deleted');
    stack.sim.students.leave(movedWithin!.dcid, 'moved', 200);
    const reasons = new Map([
      [String(graduate!.dcid), 'graduated'],
      [String(transfer!.dcid), 'transferred'],
      [String(inactive!.dcid), 'inactive'],
      [String(moved!.dcid), 'out_of_scope'],
      [String(demoted!.dcid), 'out_of_scope'],
      [String(deleted!.dcid), 'not_found'],
    ]);

    // A test run says what a commit would do, and writes no student.
    const preview = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual', testRun: true });
    expect(preview.counts).toMatchObject({ departed: 6, updated: 1, missing: 6 });
    expect(await departReasons(stack.db, preview.runId)).toEqual(Object.fromEntries(reasons));
    expect((await studentsOf(stack.db, schoolId)).every((s) => s.status === 'active')).toBe(true);

    const commit = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(commit.counts).toMatchObject({ departed: 6, updated: 1, created: 0, missing: 6 });
    expect(await departReasons(stack.db, commit.runId)).toEqual(Object.fromEntries(reasons));
    const depart = await stack.db
      .selectFrom('run_changes')
      .selectAll()
      .where('run_id', '=', commit.runId)
      .where('dcid', '=', String(graduate!.dcid))
      .executeTakeFirstOrThrow();
    expect(depart.after).toEqual({ ...depart.before, status: 'departed', departureReason: 'graduated' });
    const rows = await studentsOf(stack.db, schoolId);
    for (const r of rows) {
      expect(r.status).toBe(reasons.has(r.dcid) ? 'departed' : 'active');
      expect(r.departure_reason).toBe(reasons.get(r.dcid) ?? null);
      expect(r.departed_at !== null).toBe(reasons.has(r.dcid));
    }
    expect(rows.find((r) => r.dcid === String(movedWithin!.dcid))!.school_number).toBe(200);

    // ?status= filters exactly.
    const departed = (await listStudents(stack.db, schoolId, { limit: 100, status: 'departed' })).items;
    expect(dcidsOf(departed)).toEqual([...reasons.keys()].sort());
    const active = (await listStudents(stack.db, schoolId, { limit: 100, status: 'active' })).items;
    expect(active.length + departed.length).toBe(rows.length);

    // Nothing more happens to a departed student while it stays away.
    const again = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(again.counts).toMatchObject({ departed: 0, updated: 0, missing: 6 });

    // The graduate comes back: active again, as an update that says so.
    stack.sim.students.update(graduate!.dcid, { enroll_status: 0, schoolid: 100, grade_level: 12 });
    const back = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(back.counts).toMatchObject({ departed: 0, updated: 1, created: 0, missing: 5 });
    const update = await stack.db
      .selectFrom('run_changes')
      .selectAll()
      .where('run_id', '=', back.runId)
      .executeTakeFirstOrThrow();
    expect(update).toMatchObject({
      dcid: String(graduate!.dcid),
      type: 'update',
      fill: false,
      before: { status: 'departed', departureReason: 'graduated' },
      after: { status: 'active', departureReason: null },
    });
    const returned = (await studentsOf(stack.db, schoolId)).find((r) => r.dcid === String(graduate!.dcid))!;
    expect(returned).toMatchObject({ status: 'active', departure_reason: null, departed_at: null });
    expect(await studentsOf(stack.db, schoolId)).toHaveLength(rows.length); // nobody deleted
  });

  it('5. grade level is synced only when switched on; its first values are fills; off leaves it untouched', async () => {
    const own = await startTestSimulator({ students: 200, seed: 51 });
    try {
      const schoolId = uniqueSchoolId();
      await putIntegration(stack.db, config, schoolId, own, { mapping: { gradeLevel: false } });
      await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect((await studentsOf(stack.db, schoolId)).every((s) => s.grade_level === null)).toBe(true);
      const [mover] = own.students.inScope(9, 11);
      own.students.update(mover!.dcid, { grade_level: mover!.grade_level + 1 });
      const off = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(off.counts).toMatchObject({ updated: 0 });

      await putIntegration(stack.db, config, schoolId, own, { mapping: { gradeLevel: true } });
      const on = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      const n = own.students.inScope(9, 12).length;
      expect(on.counts).toMatchObject({ updated: n, created: 0 });
      const fills = await stack.db
        .selectFrom('run_changes')
        .select(['fill', 'after'])
        .where('run_id', '=', on.runId)
        .execute();
      expect(fills.every((c) => c.fill)).toBe(true);
      const stored = new Map((await studentsOf(stack.db, schoolId)).map((s) => [s.dcid, s.grade_level]));
      for (const s of own.students.inScope(9, 12)) expect(stored.get(String(s.dcid))).toBe(s.grade_level);

      // Switched on before this run's previous commit: a change is a real update, not a fill.
      own.students.update(mover!.dcid, { grade_level: 9 });
      const changed = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(changed.counts).toMatchObject({ updated: 1 });
      expect(
        await stack.db
          .selectFrom('run_changes')
          .select(['fill', 'after'])
          .where('run_id', '=', changed.runId)
          .execute(),
      ).toEqual([{ fill: false, after: expect.objectContaining({ gradeLevel: 9 }) }]);

      await putIntegration(stack.db, config, schoolId, own, { mapping: { gradeLevel: false } });
      own.students.update(mover!.dcid, { grade_level: 10 });
      const offAgain = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(offAgain.counts).toMatchObject({ updated: 0 });
      const kept = (await studentsOf(stack.db, schoolId)).find((s) => s.dcid === String(mover!.dcid))!;
      expect(kept.grade_level).toBe(9); // untouched while off
    } finally {
      await own.close();
    }
  });

  it('6. changing powerschool.schools never duplicates or deletes a student', async () => {
    const schoolId = uniqueSchoolId();
    const steps: number[][] = [[100], [100, 200], [200], [], [300]];
    const seen = new Set<string>();
    for (const schools of steps) {
      // Whole schools leave scope here on purpose: the safety hold would rightly hold those commits.
      await putIntegration(stack.db, config, schoolId, stack.sim, { schools, safety: { enabled: false } });
      const result = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      const rows = await studentsOf(stack.db, schoolId);
      for (const r of rows) seen.add(r.dcid);
      // Every student ever synced is still there, once.
      expect(rows).toHaveLength(seen.size);
      expect(new Set(rows.map((r) => r.dcid)).size).toBe(rows.length);
      const inScope = new Set(stack.sim.students.inScope(9, 12, schools).map((s) => String(s.dcid)));
      for (const r of rows) expect(r.status).toBe(inScope.has(r.dcid) ? 'active' : 'departed');
      expect(result.counts!.fetched).toBe(inScope.size);
    }
  });
});

async function departReasons(db: Db, runId: string): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('run_changes')
    .select(['dcid', 'after'])
    .where('run_id', '=', runId)
    .where('type', '=', 'depart')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.dcid, String(r.after.departureReason)]));
}
