// Normalises one page of raw student rows for staging: valid students, their issues, the page's last DCID.
import { normaliseStudent, type NormalisedStudent, type RecordIssue } from './records.js';

/** What a school chose to sync (part of a run's settings). */
export interface FieldMapping {
  powerschoolId: 'DCID' | 'STUDENT_NUMBER';
  dateOfBirth: boolean;
  gender: boolean;
  /** Default false. */
  gradeLevel?: boolean;
}

/** A record issue as a run reports it: named by DCID (or position) and by the school's chosen id. */
export interface PageIssue extends RecordIssue {
  powerschoolId: string | null;
}

/** Fields a school may choose not to sync: their values are dropped and their issues not reported. */
const OPTIONAL_FIELDS = { dob: 'dateOfBirth', gender: 'gender', grade_level: 'gradeLevel' } as const;

export function normalisePage(
  rows: unknown[],
  settings: { mapping: FieldMapping },
  page: number,
): { students: NormalisedStudent[]; issues: PageIssue[]; skipped: number; lastDcid: string | null } {
  const students: NormalisedStudent[] = [];
  const issues: PageIssue[] = [];
  let skipped = 0;
  let lastDcid: bigint | null = null;
  rows.forEach((raw, index) => {
    const result = normaliseStudent(raw);
    const dcid = result.ok ? result.student.dcid : /^\d{1,18}$/.test(result.dcid) ? result.dcid : null;
    if (dcid !== null && (lastDcid === null || BigInt(dcid) > lastDcid)) lastDcid = BigInt(dcid);
    // A record without a readable DCID still gets its own issue rows: name it by its position.
    // A DCID that is not an integer is named by position too: it may hold anything (even U+0000,
    // which PostgreSQL cannot store), and two such rows must not share one issue.
    const dcidOf = (dcid: string) =>
      /^[1-9]\d{0,17}$/.test(dcid) ? dcid : `(${dcid ? 'invalid' : 'no'} DCID: page ${page}, row ${index + 1})`;
    const student = result.ok ? result.student : null;
    if (student) {
      students.push({
        ...student,
        dateOfBirth: settings.mapping.dateOfBirth ? student.dateOfBirth : null,
        gender: settings.mapping.gender ? student.gender : null,
        // Staged even when not synced: a record's grade says whether it is in scope.
        gradeLevel: student.gradeLevel,
      });
    } else {
      skipped++;
    }
    const powerschoolId =
      settings.mapping.powerschoolId === 'DCID'
        ? (student?.dcid ?? (result.ok ? null : /^\d+$/.test(result.dcid) ? result.dcid : null))
        : (student?.studentNumber ?? null);
    for (const issue of result.issues) {
      if (!issue.skipped && issue.field in OPTIONAL_FIELDS) {
        const key = OPTIONAL_FIELDS[issue.field as keyof typeof OPTIONAL_FIELDS];
        if (!settings.mapping[key]) continue;
      }
      issues.push({
        dcid: dcidOf(issue.dcid),
        powerschoolId,
        field: issue.field,
        code: issue.code,
        message: issue.message,
        skipped: issue.skipped,
      });
    }
  });
  return { students, issues, skipped, lastDcid: lastDcid === null ? null : String(lastDcid) };
}
