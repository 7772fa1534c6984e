// Where PowerSchool has a student now, read without the scope filter: the answer a departure's reason comes from.
import { dcidSchema, gradeLevelSchema, integerCellSchema } from './record-cells.js';

/** The columns of a departure lookup: no name, no date of birth, nothing the reason does not need. */
export const ENROLMENT_COLUMNS: readonly string[] = Object.freeze(['dcid', 'enroll_status', 'schoolid', 'grade_level']);

export interface Enrolment {
  dcid: string;
  /** null when PowerSchool sent none (or an unreadable one). */
  enrollStatus: number | null;
  schoolNumber: number | null;
  gradeLevel: number | null;
}

function lowerCaseKeys(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(row)) out[key.toLowerCase()] ??= value;
  return out;
}

/** One raw row as an Enrolment; null when it has no readable DCID (it cannot answer for any student). */
export function enrolmentOf(raw: unknown): Enrolment | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const row = lowerCaseKeys(raw);
  const dcid = dcidSchema.safeParse(row.dcid);
  if (!dcid.success) return null;
  const cell = (schema: typeof integerCellSchema, value: unknown) => {
    const parsed = schema.safeParse(value);
    return parsed.success ? parsed.data : null;
  };
  return {
    dcid: dcid.data,
    enrollStatus: cell(integerCellSchema, row.enroll_status),
    schoolNumber: cell(integerCellSchema, row.schoolid),
    gradeLevel: cell(gradeLevelSchema, row.grade_level),
  };
}
