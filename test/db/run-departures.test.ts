import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/connection.js';
import { stageDepartureCandidates } from '../../db/queries/departure-lookups.js';
import { diffRun } from '../../db/queries/run-diff.js';
import { testDb } from '../helpers/db.js';
import { uniqueSchoolId } from '../helpers/env.js';

/**
 * The diff's departures on the real database, from staged lookup answers: each reason, a record
 * that is in scope after all (it moved mid-run), and a student nobody asked about (never a guess).
 */
describe('depart changes from the staged lookups', () => {
  let db: Db;
  beforeAll(() => {
    db = testDb();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('gives each reason, skips records in scope after all, and never guesses', async () => {
    const schoolId = uniqueSchoolId();
    const runId = `run-${randomUUID()}`;
    await db.insertInto('runs').values({ id: runId, school_id: schoolId, trigger: 'manual', test_run: true }).execute();
    const dcids = ['11', '12', '13', '14', '15', '16', '17', '18', '19'];
    await db
      .insertInto('students')
      .values(
        dcids.map((dcid) => ({
          school_id: schoolId,
          dcid,
          first_name: 'A',
          last_name: `B${dcid}`,
          graduation_year: 2027,
          school_number: 101,
        })),
      )
      .execute();
    await stageDepartureCandidates(db, runId, schoolId);
    const answer = (
      dcid: string,
      enroll_status: number | null,
      school_number: number | null,
      grade_level: number | null,
    ) =>
      db
        .updateTable('run_departure_lookups')
        .set({ looked_up: true, found: true, enroll_status, school_number, grade_level })
        .where('run_id', '=', runId)
        .where('dcid', '=', dcid)
        .execute();
    await answer('11', 3, 999999, 99);
    await answer('12', 2, 101, 11);
    await answer('13', -2, 101, 11);
    await answer('14', 0, 300, 11); // enrolled in a school not selected
    await answer('15', 0, 101, 8); // below the grade range
    await db
      .updateTable('run_departure_lookups')
      .set({ looked_up: true }) // asked, and PowerSchool has no such record
      .where('run_id', '=', runId)
      .where('dcid', '=', '16')
      .execute();
    await answer('17', 0, 205, 12); // in scope after all: moved into a selected school mid-run
    await answer('18', 1, 101, 10);
    // 19: never asked about (no answer staged): no reason is guessed.

    const counts = await diffRun(db, {
      runId,
      schoolId,
      syncDateOfBirth: false,
      syncGender: false,
      matching: false,
      powerschoolIdMapping: 'DCID',
      scope: { gradeFrom: 9, gradeTo: 12, schools: [101, 205] },
      mode: 'preview',
    });
    const changes = await db
      .selectFrom('run_changes')
      .select(['dcid', 'type', 'after'])
      .where('run_id', '=', runId)
      .execute();
    expect(Object.fromEntries(changes.map((c) => [c.dcid, `${c.type}:${String(c.after.departureReason)}`]))).toEqual({
      '11': 'depart:graduated',
      '12': 'depart:transferred',
      '13': 'depart:inactive',
      '14': 'depart:out_of_scope',
      '15': 'depart:out_of_scope',
      '16': 'depart:not_found',
      '18': 'depart:inactive',
    });
    expect(counts).toMatchObject({ departed: 7, missing: 9, created: 0, updated: 0 });
  });
});
