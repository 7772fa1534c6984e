// What counts toward the safety hold, counted in SQL: departures, updates of active students, the base.
import { afterAll, describe, expect, it } from 'vitest';
import { countActiveStudents, countHoldChanges } from '../../db/queries/run-hold.js';
import { testDb } from '../helpers/db.js';
import { uniqueSchoolId } from '../helpers/env.js';

const db = testDb();
afterAll(() => db.destroy());

async function school(options: { committedBefore: boolean }) {
  const schoolId = uniqueSchoolId('hold-count');
  const runId = `powerschool-sync-${schoolId}-manual-2`;
  const statuses = ['active', 'active', 'active', 'active', 'departed', 'unlinked'] as const;
  await db
    .insertInto('students')
    .values(
      statuses.map((status, i) => ({
        school_id: schoolId,
        first_name: 'F',
        last_name: 'L',
        graduation_year: 2030,
        status,
        // An imported account has no DCID until a run links it.
        ...(status === 'unlinked'
          ? { dcid: null, external_id: `c-${i}`, first_name_key: 'f', last_name_key: 'l' }
          : { dcid: 1000 + i }),
      })),
    )
    .execute();
  if (options.committedBefore)
    await db
      .insertInto('runs')
      .values({
        id: `powerschool-sync-${schoolId}-manual-1`,
        school_id: schoolId,
        trigger: 'manual',
        test_run: false,
        status: 'succeeded',
        applied_at: new Date(),
      })
      .execute();
  await db
    .insertInto('runs')
    .values({ id: runId, school_id: schoolId, trigger: 'manual', test_run: false, status: 'running' })
    .execute();
  const change = (dcid: number, type: 'create' | 'update' | 'depart' | 'link') => ({
    run_id: runId,
    dcid,
    type,
    before: type === 'create' ? null : '{}',
    after: '{}',
  });
  await db
    .insertInto('run_changes')
    .values([
      change(1000, 'update'), // active: counts
      change(1001, 'update'), // active: counts
      change(1002, 'depart'), // departure
      change(1004, 'update'), // a departed student coming back: not an update of an active student
      change(1005, 'link'), // a link: not an update
      change(2000, 'create'), // a create: never counts
    ])
    .execute();
  return { schoolId, runId };
}

describe('countHoldChanges and the base', () => {
  it('counts depart changes and updates of active students only; the base is the active students', async () => {
    const { schoolId, runId } = await school({ committedBefore: true });
    await db.transaction().execute(async (tx) => {
      expect(await countHoldChanges(tx, { runId, schoolId })).toEqual({ departed: 1, updates: 2 });
      expect(await countActiveStudents(tx, schoolId)).toBe(4);
    });
  });

  it('answers null for a school whose first commit this is (it is never held)', async () => {
    const { schoolId, runId } = await school({ committedBefore: false });
    await db.transaction().execute(async (tx) => {
      expect(await countHoldChanges(tx, { runId, schoolId })).toBeNull();
    });
  });
});
