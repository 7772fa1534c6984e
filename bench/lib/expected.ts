import { sql } from 'kysely';
import type { Db } from '../../db/connection.js';
import type { SimulatedStudent } from '../../simulator/index.js';

/**
 * The correctness check every pipeline scenario runs before it reports a time: the students
 * table of a school must hold exactly the simulator's in-scope students, field by field, as the
 * contract normalises them. Written independently of powerschool/records.ts on purpose.
 */

export interface StudentRow {
  dcid: string;
  student_number: string | null;
  first_name: string;
  last_name: string;
  graduation_year: number;
  date_of_birth: string | null;
  gender: string | null;
}

const name = (s: string) => s.replace(/\s+/g, ' ').trim().normalize('NFC');

/** What the students table should hold for this simulator record (the benchmark schools sync DOB and gender). */
export function expectedRow(s: SimulatedStudent): StudentRow {
  return {
    dcid: String(s.dcid),
    student_number: s.student_number === '' ? null : String(Number(s.student_number)),
    first_name: name(s.first_name),
    last_name: name(s.last_name),
    graduation_year: s.sched_yearofgraduation,
    date_of_birth: s.dob,
    gender: s.gender ? s.gender.toUpperCase() : null,
  };
}

export interface CheckResult {
  ok: boolean;
  expected: number;
  actual: number;
  /** Rows whose content differs, plus expected rows missing, plus rows that should not be there. */
  mismatches: number;
  firstMismatch?: string;
}

/** Reads a students table (ours, or the baseline's) for one school and compares it with the simulator. */
export async function checkStudents(
  db: Db,
  table: 'students' | 'bench_baseline.students',
  schoolId: string,
  inScope: SimulatedStudent[],
): Promise<CheckResult> {
  const { rows } = await sql<StudentRow>`
    select dcid::text as dcid, student_number, first_name, last_name, graduation_year,
           date_of_birth::text as date_of_birth, gender
    from ${sql.table(table)} where school_id = ${schoolId} order by dcid`.execute(db);
  const byDcid = new Map(rows.map((r) => [r.dcid, r]));
  let mismatches = 0;
  let firstMismatch: string | undefined;
  const note = (msg: string) => {
    mismatches++;
    firstMismatch ??= msg;
  };
  for (const s of inScope) {
    const want = expectedRow(s);
    const got = byDcid.get(want.dcid);
    if (!got) {
      note(`dcid ${want.dcid} missing`);
      continue;
    }
    byDcid.delete(want.dcid);
    for (const key of Object.keys(want) as (keyof StudentRow)[]) {
      if (String(got[key]) !== String(want[key])) {
        note(`dcid ${want.dcid}: ${key} is ${JSON.stringify(got[key])}, expected ${JSON.stringify(want[key])}`);
        break;
      }
    }
  }
  for (const dcid of byDcid.keys()) note(`dcid ${dcid} should not be there`);
  return { ok: mismatches === 0, expected: inScope.length, actual: rows.length, mismatches, firstMismatch };
}

export function assertCheck(what: string, check: CheckResult): void {
  if (!check.ok)
    throw new Error(
      `${what}: correctness check FAILED: ${check.actual} rows, expected ${check.expected}; ${check.mismatches} mismatches (first: ${check.firstMismatch})`,
    );
}
