// How students leave a school in PowerSchool: the ENROLL_STATUS, SCHOOLID and GRADE_LEVEL changes real servers show.
import { GRADUATED_SCHOOL_NUMBER, type SimulatedStudent, type StudentStore } from './students.js';

/**
 * - `graduated`: ENROLL_STATUS 3, moved to the "Graduated Students" school, grade 99;
 * - `transferred`: ENROLL_STATUS 2 (transferred out), keeping its school and grade;
 * - `inactive`: ENROLL_STATUS 1;
 * - `moved`: still enrolled, in another school (`toSchool`);
 * - `deleted`: the record is gone.
 */
export type LeaveKind = 'graduated' | 'transferred' | 'inactive' | 'moved' | 'deleted';

export function leaveChanges(kind: Exclude<LeaveKind, 'deleted'>, toSchool?: number): Partial<SimulatedStudent> {
  if (kind === 'graduated') return { enroll_status: 3, schoolid: GRADUATED_SCHOOL_NUMBER, grade_level: 99 };
  if (kind === 'transferred') return { enroll_status: 2 };
  if (kind === 'inactive') return { enroll_status: 1 };
  if (toSchool === undefined) throw new Error('a move names the school it goes to');
  return { enroll_status: 0, schoolid: toSchool };
}

/** One student leaves; false when there is no such student. */
export function leave(store: StudentStore, dcid: number, kind: LeaveKind, toSchool?: number): boolean {
  if (kind === 'deleted') return store.remove(dcid);
  return store.update(dcid, leaveChanges(kind, toSchool)) !== undefined;
}

/**
 * Year-end: every enrolled student of the class (graduation year), in `school` when given,
 * graduates. Returns their DCIDs.
 */
export function graduateClass(store: StudentStore, graduationYear: number, school?: number): number[] {
  const leaving = store
    .all()
    .filter(
      (s) =>
        s.enroll_status === 0 &&
        s.sched_yearofgraduation === graduationYear &&
        (school === undefined || s.schoolid === school),
    )
    .map((s) => s.dcid);
  for (const dcid of leaving) store.update(dcid, leaveChanges('graduated'));
  return leaving;
}
