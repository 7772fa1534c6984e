// Validates and normalises one raw PowerSchool student row (a `tables.students` object); STUDENT_COLUMNS.
import { z } from 'zod';
import {
  dateOfBirthSchema,
  dcidSchema,
  firstNameSchema,
  genderSchema,
  gradeLevelSchema,
  graduationYearSchema,
  integerCellSchema,
  lastNameSchema,
  studentNumberSchema,
} from './record-cells.js';

// Every column is checked on its own (record-cells.ts) so that one bad optional value (a DOB of
// 2008-02-30) costs only that value, while a bad required value (names, graduation year, DCID)
// skips the record. Nothing here throws, whatever the input.

/** Exactly the columns the client asks for; plugin.xml grants the same set (a test keeps them equal). */
export const STUDENT_COLUMNS: readonly string[] = Object.freeze([
  'dcid',
  'id',
  'student_number',
  'first_name',
  'last_name',
  'dob',
  'gender',
  'grade_level',
  'sched_yearofgraduation',
  'enroll_status',
  'schoolid',
]);

export interface NormalisedStudent {
  dcid: string;
  studentNumber: string | null;
  firstName: string;
  lastName: string;
  graduationYear: number;
  dateOfBirth: string | null;
  gender: string | null;
  gradeLevel: number | null;
  /** STUDENTS.SCHOOLID: the school number the student is enrolled in. */
  schoolNumber: number | null;
}

export interface RecordIssue {
  dcid: string;
  /** PowerSchool column, lower case (`record` when the row itself is not an object). */
  field: string;
  /** MISSING, INVALID_TYPE, INVALID_ID, INVALID_NUMBER, INVALID_DATE, INVALID_YEAR, TOO_LONG */
  code: string;
  message: string;
  /** true: the record was not synced; false: synced without this (optional) value. */
  skipped: boolean;
}

export type NormaliseResult =
  { ok: true; student: NormalisedStudent; issues: RecordIssue[] } | { ok: false; dcid: string; issues: RecordIssue[] };

/** The raw row: any object; keys are matched case-insensitively (PowerSchool sends lower case). */
const rowSchema = z.record(z.string(), z.unknown());

type ColumnOutcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

function checkColumn<T>(schema: z.ZodType<T>, value: unknown): ColumnOutcome<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const params = issue && 'params' in issue ? (issue.params as { code?: unknown } | undefined) : undefined;
  return {
    ok: false,
    code: typeof params?.code === 'string' ? params.code : 'INVALID_TYPE',
    message: issue?.message ?? 'invalid value',
  };
}

function lowerCaseKeys(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(row)) {
    const lower = key.toLowerCase();
    if (!(lower in out)) out[lower] = value;
  }
  return out;
}

/** Accepts the bare `tables.students` object, or the whole `record[]` entry that wraps it. */
function unwrap(raw: unknown): unknown {
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const tables = (raw as { tables?: unknown }).tables;
    if (tables && typeof tables === 'object') {
      const students = (tables as { students?: unknown }).students;
      if (students && typeof students === 'object') return students;
    }
  }
  return raw;
}

export function normaliseStudent(raw: unknown): NormaliseResult {
  try {
    return normaliseRow(unwrap(raw));
  } catch {
    // Defensive only: the schemas above do not throw, but a sync must never crash on one row.
    return {
      ok: false,
      dcid: '',
      issues: [{ dcid: '', field: 'record', code: 'INVALID_TYPE', message: 'unreadable record', skipped: true }],
    };
  }
}

function normaliseRow(input: unknown): NormaliseResult {
  const parsedRow = rowSchema.safeParse(input);
  if (!parsedRow.success || Array.isArray(input)) {
    return {
      ok: false,
      dcid: '',
      issues: [{ dcid: '', field: 'record', code: 'INVALID_TYPE', message: 'record is not an object', skipped: true }],
    };
  }
  const row = lowerCaseKeys(parsedRow.data);

  const dcid = checkColumn(dcidSchema, row.dcid);
  const dcidText = dcid.ok ? dcid.value : cellTextLoose(row.dcid);
  const issues: RecordIssue[] = [];

  function required<T>(field: string, outcome: ColumnOutcome<T>): T | undefined {
    if (outcome.ok) return outcome.value;
    issues.push({ dcid: dcidText, field, code: outcome.code, message: outcome.message, skipped: true });
    return undefined;
  }
  function optional<T>(field: string, outcome: ColumnOutcome<T | null>): T | null {
    if (outcome.ok) return outcome.value;
    issues.push({ dcid: dcidText, field, code: outcome.code, message: outcome.message, skipped: false });
    return null;
  }

  const dcidValue = required('dcid', dcid);
  const firstName = required('first_name', checkColumn(firstNameSchema, row.first_name));
  const lastName = required('last_name', checkColumn(lastNameSchema, row.last_name));
  const graduationYear = required(
    'sched_yearofgraduation',
    checkColumn(graduationYearSchema, row.sched_yearofgraduation),
  );
  const studentNumber = optional('student_number', checkColumn(studentNumberSchema, row.student_number));
  const dateOfBirth = optional('dob', checkColumn(dateOfBirthSchema, row.dob));
  const gender = optional('gender', checkColumn(genderSchema, row.gender));
  const gradeLevel = optional('grade_level', checkColumn(gradeLevelSchema, row.grade_level));
  const schoolNumber = optional('schoolid', checkColumn(integerCellSchema, row.schoolid));

  if (dcidValue === undefined || firstName === undefined || lastName === undefined || graduationYear === undefined) {
    // The record is skipped: every issue on it is reported as skipped, so the run's issue list
    // does not claim an optional field was "synced without it".
    return { ok: false, dcid: dcidText, issues: issues.map((i) => ({ ...i, skipped: true })) };
  }
  return {
    ok: true,
    student: {
      dcid: dcidValue,
      studentNumber,
      firstName,
      lastName,
      graduationYear,
      dateOfBirth,
      gender,
      gradeLevel,
      schoolNumber,
    },
    issues,
  };
}

/** The DCID as written, for naming a record whose DCID is itself invalid (bounded length). */
function cellTextLoose(value: unknown): string {
  if (typeof value === 'string') return value.trim().slice(0, 64);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return '';
}
