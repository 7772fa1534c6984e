// A run's departure lookups: the active students it did not receive in scope, and what PowerSchool says of each.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../connection.js';

/**
 * A run stages, before its diff, one row per linked active student whose DCID did not come back
 * in scope (neither valid nor skipped as invalid), then fills in what PowerSchool's own record of
 * that DCID says (read without the scope filter). The diff decides each departure and its reason
 * from these rows; they live here, never in Temporal history.
 *
 * Two passes: first the candidates' ranges are read for records that are not enrolled (graduates,
 * transfers, inactive: most leavers, and few records of a district), then whatever is still
 * unanswered is read in full ranges, which alone can say a record does not exist.
 */

/** `unenrolled`: the first pass (not yet asked for unenrolled records); `any`: the full read. */
export type LookupPass = 'unenrolled' | 'any';

/** The school's student `st` was not received in scope by the run: neither staged nor skipped as invalid. */
export function notReceivedInScope(runId: string): RawBuilder<boolean> {
  return sql<boolean>`(
        not exists (select 1 from staged_students s where s.run_id = ${runId} and s.dcid = st.dcid)
    and not exists (select 1 from run_issues i where i.run_id = ${runId} and i.skipped and i.dcid = st.dcid::text))`;
}

/** Stages the run's departure candidates (idempotent: a retry adds only what is not there yet). */
export async function stageDepartureCandidates(db: Db, runId: string, schoolId: string): Promise<void> {
  await sql`
    insert into run_departure_lookups (run_id, dcid)
    select ${runId}, st.dcid
    from students st
    where st.school_id = ${schoolId} and st.status = 'active' and st.dcid is not null
      and ${notReceivedInScope(runId)}
    on conflict (run_id, dcid) do nothing
  `.execute(db);
}

/** The next candidates the pass has not asked PowerSchool about, in DCID order. */
export async function nextUnaskedCandidates(db: Db, runId: string, pass: LookupPass, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('run_departure_lookups')
    .select(sql<string>`dcid::text`.as('dcid'))
    .where('run_id', '=', runId)
    .where('looked_up', '=', false)
    .where('asked_unenrolled', '=', pass === 'any')
    // The bigint column, not the text alias: numeric order.
    .orderBy('run_departure_lookups.dcid')
    .limit(limit)
    .execute();
  return rows.map((r) => r.dcid);
}

export async function countUnaskedCandidates(db: Db, runId: string): Promise<number> {
  const row = await db
    .selectFrom('run_departure_lookups')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('run_id', '=', runId)
    .where('looked_up', '=', false)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface EnrolmentAnswer {
  dcid: string;
  enrollStatus: number | null;
  schoolNumber: number | null;
  gradeLevel: number | null;
}

/** Records what PowerSchool said about candidates of the run (rows of non-candidates are ignored). */
export async function recordEnrolments(db: Db, runId: string, answers: EnrolmentAnswer[]): Promise<void> {
  if (answers.length === 0) return;
  await sql`
    update run_departure_lookups l set
      looked_up = true, found = true, enroll_status = u.enroll_status, school_number = u.school_number, grade_level = u.grade_level
    from unnest(
      ${answers.map((a) => a.dcid)}::bigint[],
      ${answers.map((a) => a.enrollStatus)}::int[],
      ${answers.map((a) => a.schoolNumber)}::int[],
      ${answers.map((a) => a.gradeLevel)}::int[]) as u(dcid, enroll_status, school_number, grade_level)
    where l.run_id = ${runId} and l.dcid = u.dcid
  `.execute(db);
}

/**
 * The pass read the range to its end. After the full read every candidate in it has its answer
 * (found, or no such record); after the first pass the rest go on to the full read.
 */
export async function markRangeAsked(
  db: Db,
  runId: string,
  range: { from: string; to: string },
  pass: LookupPass,
): Promise<void> {
  await sql`
    update run_departure_lookups set ${pass === 'any' ? sql`looked_up = true` : sql`asked_unenrolled = true`}
    where run_id = ${runId} and dcid between ${range.from}::bigint and ${range.to}::bigint
  `.execute(db);
}
