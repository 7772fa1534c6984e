import { sql } from 'kysely';
import type { Db } from '../connection.js';

/**
 * Staging of one run's rows and issues, page by page. Every write is keyed by (run, DCID) so a
 * retried page, or a student PowerSchool returns on two pages, is stored once.
 */

export interface StagedStudent {
  dcid: string;
  studentNumber: string | null;
  firstName: string;
  lastName: string;
  graduationYear: number;
  dateOfBirth: string | null;
  gender: string | null;
  gradeLevel: number | null;
}

export interface StagedIssue {
  dcid: string;
  powerschoolId: string | null;
  field: string;
  code: string;
  message: string;
  skipped: boolean;
}

// PostgreSQL takes at most 65,535 parameters per statement; 9 columns × 5,000 rows stays well under.
const CHUNK = 5_000;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function stageStudents(db: Db, runId: string, students: StagedStudent[]): Promise<void> {
  // One INSERT may not touch the same key twice, so a page that repeats a DCID keeps its last row.
  const byDcid = new Map(students.map((s) => [s.dcid, s]));
  for (const part of chunks([...byDcid.values()])) {
    await db
      .insertInto('staged_students')
      .values(
        part.map((s) => ({
          run_id: runId,
          dcid: s.dcid,
          student_number: s.studentNumber,
          first_name: s.firstName,
          last_name: s.lastName,
          graduation_year: s.graduationYear,
          date_of_birth: s.dateOfBirth,
          gender: s.gender,
          grade_level: s.gradeLevel,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['run_id', 'dcid']).doUpdateSet((eb) => ({
          student_number: eb.ref('excluded.student_number'),
          first_name: eb.ref('excluded.first_name'),
          last_name: eb.ref('excluded.last_name'),
          graduation_year: eb.ref('excluded.graduation_year'),
          date_of_birth: eb.ref('excluded.date_of_birth'),
          gender: eb.ref('excluded.gender'),
          grade_level: eb.ref('excluded.grade_level'),
        })),
      )
      .execute();
  }
}

export async function stageIssues(db: Db, runId: string, issues: StagedIssue[]): Promise<void> {
  for (const part of chunks(issues)) {
    await db
      .insertInto('run_issues')
      .values(
        part.map((i) => ({
          run_id: runId,
          dcid: i.dcid,
          powerschool_id: i.powerschoolId,
          field: i.field,
          code: i.code,
          message: i.message,
          skipped: i.skipped,
        })),
      )
      .onConflict((oc) => oc.columns(['run_id', 'dcid', 'field', 'code']).doNothing())
      .execute();
  }
}

export interface RunProgressTotals {
  pagesFetched: number;
  recordsFetched: number;
  invalid: number;
}

/**
 * Brings the run's progress columns up to date after a page. The totals are counted from the
 * staging tables rather than incremented, so a page staged twice (a retry) counts once.
 * `fetched` counts distinct records: the valid staged ones plus the distinct skipped ones.
 */
export async function refreshRunProgress(db: Db, runId: string, page: number): Promise<RunProgressTotals> {
  const row = await sql<{ pages_fetched: number; records_fetched: number; count_invalid: number }>`
    with totals as (
      select
        (select count(*) from staged_students where run_id = ${runId})::int as staged,
        (select count(distinct dcid) from run_issues where run_id = ${runId} and skipped)::int as invalid
    )
    update runs set
      pages_fetched = greatest(pages_fetched, ${page}::int),
      pages_total = case when pages_total is null then null else greatest(pages_total, ${page}::int) end,
      records_fetched = totals.staged + totals.invalid,
      count_fetched = totals.staged + totals.invalid,
      count_invalid = totals.invalid
    from totals
    where runs.id = ${runId}
    returning pages_fetched, records_fetched, count_invalid
  `.execute(db);
  const r = row.rows[0];
  if (!r) throw new Error(`run ${runId} not found`);
  return { pagesFetched: r.pages_fetched, recordsFetched: r.records_fetched, invalid: r.count_invalid };
}

export async function recordPlan(
  db: Db,
  runId: string,
  plan: { pagesTotal: number; recordsTotal: number },
): Promise<void> {
  await db
    .updateTable('runs')
    .set({ pages_total: plan.pagesTotal, records_total: plan.recordsTotal })
    .where('id', '=', runId)
    .execute();
}
