import { PowerSchoolError } from './errors.js';

/**
 * The older v1 resource `/ws/v1/district/student`. Its quirks: one result comes back as an object
 * instead of an array, and no result leaves out the `student` key (sometimes `students` too).
 */

export function parseV1Students(body: unknown): unknown[] {
  if (body === null || body === undefined || body === '') return [];
  if (typeof body !== 'object' || Array.isArray(body))
    throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'v1 students: the answer is not an object', {
      retryable: false,
    });
  const students = (body as { students?: unknown }).students;
  if (students === undefined || students === null || students === '') return [];
  if (typeof students !== 'object' || Array.isArray(students))
    throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'v1 students: `students` is not an object', {
      retryable: false,
    });
  const student = (students as { student?: unknown }).student;
  if (student === undefined || student === null) return [];
  if (Array.isArray(student)) return student;
  if (typeof student === 'object') return [student];
  throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'v1 students: `student` is neither a list nor an object', {
    retryable: false,
  });
}

/** The count answer of `/ws/v1/district/student/count`: `{"resource": {"count": N}}`. */
export function parseV1Count(body: unknown): number {
  const count = (body as { resource?: { count?: unknown } } | null)?.resource?.count;
  const n = typeof count === 'string' ? Number(count) : count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'v1 count: no count in the answer', { retryable: false });
  return n;
}

/** v1 enrol status letters back to the STUDENTS.ENROLL_STATUS codes. */
export const V1_ENROLL_STATUS: Readonly<Record<string, number>> = Object.freeze({
  P: -1,
  A: 0,
  I: 1,
  T: 2,
  G: 3,
  H: 4,
});

function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Maps one v1 student to the table endpoint's column names, so `normaliseStudent` validates both
 * shapes the same way. `id` in v1 is the DCID; `local_id` the student number.
 */
export function v1StudentToRow(student: unknown): Record<string, unknown> {
  const s = obj(student);
  const name = obj(s.name);
  const demographics = obj(s.demographics);
  const enrollment = obj(s.school_enrollment);
  const status = enrollment.enroll_status;
  return {
    dcid: s.id,
    student_number: s.local_id,
    first_name: name.first_name,
    last_name: name.last_name,
    dob: demographics.birth_date,
    gender: demographics.gender,
    grade_level: enrollment.grade_level,
    sched_yearofgraduation: demographics.projected_graduation_year,
    enroll_status: typeof status === 'string' && status in V1_ENROLL_STATUS ? V1_ENROLL_STATUS[status] : status,
    schoolid: enrollment.school_number,
  };
}
