// Staging one run's students and issues page by page, and the run's progress as pages arrive.
import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import type { NormalisedStudent } from '../../powerschool/records.js';
import { matchKey } from '../../shared/match-key.js';
import type { Database } from '../types.js';

/**
 * A staged row is a student as powerschool/records.ts normalised it, with the match keys of its
 * names (shared/match-key.ts). Every write is keyed by
 * (run, DCID) so a retried page, or a student PowerSchool returns on two pages, is stored once.
 */

export interface StagedIssue {
  dcid: string;
  powerschoolId: string | null;
  field: string;
  code: string;
  message: string;
  skipped: boolean;
}

type Executor = Db | Transaction<Database>;

/**
 * Stages a page's valid rows; returns how many DCIDs are new to the run. One statement per page
 * whatever its size: the columns travel as arrays (unnest), not one parameter per cell.
 */
export async function stageStudents(db: Executor, runId: string, students: NormalisedStudent[]): Promise<number> {
  // One INSERT may not touch the same key twice, so a page that repeats a DCID keeps its last row.
  const rows = [...new Map(students.map((s) => [s.dcid, s])).values()];
  if (rows.length === 0) return 0;
  const { rows: out } = await sql<{ inserted: number }>`
    with staged as (
      insert into staged_students (run_id, dcid, student_number, first_name, last_name, graduation_year,
                                   date_of_birth, gender, grade_level, school_number,
                                   first_name_key, last_name_key)
      select ${runId}, u.* from unnest(
        ${rows.map((r) => r.dcid)}::bigint[],
        ${rows.map((r) => r.studentNumber)}::text[],
        ${rows.map((r) => r.firstName)}::text[],
        ${rows.map((r) => r.lastName)}::text[],
        ${rows.map((r) => r.graduationYear)}::int[],
        ${rows.map((r) => r.dateOfBirth)}::date[],
        ${rows.map((r) => r.gender)}::text[],
        ${rows.map((r) => r.gradeLevel)}::int[],
        ${rows.map((r) => r.schoolNumber)}::int[],
        ${rows.map((r) => matchKey(r.firstName))}::text[],
        ${rows.map((r) => matchKey(r.lastName))}::text[]) as u
      on conflict (run_id, dcid) do update set
        student_number = excluded.student_number,
        first_name = excluded.first_name,
        last_name = excluded.last_name,
        graduation_year = excluded.graduation_year,
        date_of_birth = excluded.date_of_birth,
        gender = excluded.gender,
        grade_level = excluded.grade_level,
        school_number = excluded.school_number,
        first_name_key = excluded.first_name_key,
        last_name_key = excluded.last_name_key
      returning (xmax = 0) as inserted
    )
    select (count(*) filter (where inserted))::int as inserted from staged
  `.execute(db);
  return out[0]?.inserted ?? 0;
}

/** Stages a page's issues; returns how many skipped records are new to the run. */
export async function stageIssues(db: Executor, runId: string, issues: StagedIssue[]): Promise<number> {
  if (issues.length === 0) return 0;
  const { rows: out } = await sql<{ skipped: number }>`
    with staged as (
      insert into run_issues (run_id, dcid, powerschool_id, field, code, message, skipped)
      select ${runId}, u.* from unnest(
        ${issues.map((i) => i.dcid)}::text[],
        ${issues.map((i) => i.powerschoolId)}::text[],
        ${issues.map((i) => i.field)}::text[],
        ${issues.map((i) => i.code)}::text[],
        ${issues.map((i) => i.message)}::text[],
        ${issues.map((i) => i.skipped)}::boolean[]) as u
      on conflict (run_id, dcid, field, code) do nothing
      returning dcid, skipped
    )
    select (count(distinct dcid) filter (where skipped))::int as skipped from staged
  `.execute(db);
  return out[0]?.skipped ?? 0;
}

/**
 * Stages one page and advances the run's progress, in one transaction: a retried page finds its
 * rows already staged, adds nothing, and so counts once — without recounting the whole run after
 * every page (the exact recount happens once, in the diff).
 */
export async function stagePage(
  db: Db,
  runId: string,
  page: number,
  students: NormalisedStudent[],
  issues: StagedIssue[],
): Promise<RunProgressTotals> {
  return db.transaction().execute(async (tx) => {
    // The run row's lock orders this page against finishRun and the diff: a page that arrives
    // after the run ended (cancelled while the page was in flight), or after its diff was
    // recorded (a stale attempt still reading), stages nothing and counts nothing.
    const run = await tx
      .selectFrom('runs')
      .select(['status', 'applied_at'])
      .where('id', '=', runId)
      .forUpdate()
      .executeTakeFirst();
    if (!run) throw new Error(`run ${runId} not found`);
    if (run.status !== 'running') throw new RunEndedError(runId, run.status);
    if (run.applied_at) throw new RunEndedError(runId, 'applied');
    const newInvalid = await stageIssues(tx, runId, issues);
    const newStaged = await stageStudents(tx, runId, students);
    const fetched = newStaged + newInvalid;
    const row = await tx
      .updateTable('runs')
      .set((eb) => ({
        pages_fetched: sql<number>`greatest(pages_fetched, ${page}::int)`,
        pages_total: sql<
          number | null
        >`case when pages_total is null then null else greatest(pages_total, ${page}::int) end`,
        records_fetched: eb('records_fetched', '+', fetched),
        count_fetched: eb('count_fetched', '+', fetched),
        count_invalid: eb('count_invalid', '+', newInvalid),
      }))
      .where('id', '=', runId)
      .returning(['pages_fetched', 'records_fetched', 'count_invalid'])
      .executeTakeFirst();
    if (!row) throw new Error(`run ${runId} not found`);
    return { pagesFetched: row.pages_fetched, recordsFetched: row.records_fetched, invalid: row.count_invalid };
  });
}

/** The run can take no more staging or diff: it ended, or its changes were already recorded. */
export class RunEndedError extends Error {
  override name = 'RunEndedError';
  constructor(runId: string, status: string) {
    super(
      status === 'applied'
        ? `run ${runId} has already recorded its changes; nothing more is staged into it`
        : `run ${runId} has already ended (${status}); nothing more is staged or written for it`,
    );
  }
}

export interface RunProgressTotals {
  pagesFetched: number;
  recordsFetched: number;
  invalid: number;
}

/** The run's progress as staged so far (a retried fetchPage that finds the read done reports it). */
export async function getProgressTotals(db: Db, runId: string): Promise<RunProgressTotals> {
  const row = await db
    .selectFrom('runs')
    .select(['pages_fetched', 'records_fetched', 'count_invalid'])
    .where('id', '=', runId)
    .executeTakeFirstOrThrow();
  return { pagesFetched: row.pages_fetched, recordsFetched: row.records_fetched, invalid: row.count_invalid };
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
