// Matching inside a run's diff: new PowerSchool records against the school's unlinked (imported) accounts.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../types.js';
import { syncedAssignments } from './synced-columns.js';

/**
 * Set-based, like the rest of the diff: one statement per step over the whole run. Names are
 * compared by their stored match keys (shared/match-key.ts), never folded in SQL.
 *
 * A record takes part when no student has its DCID yet. Its candidates are the school's unlinked
 * accounts with equal first- and last-name keys and equal dates of birth — or, when either date is
 * null, equal graduation years. PowerSchool's date of birth counts only when the school syncs it.
 *
 *   link    exactly one candidate, claimed by no other record (or a person chose the account)
 *   review  several candidates, or a candidate several records claim, or an open review
 *   ignore  a person decided this record is neither linked nor created
 *   (none)  no candidate, or a person chose `create`: created as any new record
 *
 * The decisions are recorded in the diff's recording step, preview and commit alike: links as
 * `link` changes, reviews and ignores in run_match_decisions. A commit applies the recorded links
 * and opens or refreshes one review per DCID.
 */

type Tx = Transaction<Database>;

/**
 * Runs one bulk statement with nested loops off. The rows a run stages, and the accounts an import
 * just wrote, have no planner statistics yet (autovacuum has not analysed them), so PostgreSQL
 * takes thousands of rows for one and picks nested loops: 2,000 links took 2.3 s instead of 80 ms,
 * and the duplicates' self-join grows with the square of the run. Hash joins are right for
 * statements over a whole run whatever the estimates say. SET LOCAL keeps it to this transaction,
 * and the next line puts it back for the rest of the diff.
 */
async function withHashJoins(tx: Tx, statement: () => Promise<unknown>): Promise<void> {
  // No finally: after a failed statement the transaction is aborted and rolls back anyway.
  await sql`set local enable_nestloop = off`.execute(tx);
  await statement();
  await sql`set local enable_nestloop to default`.execute(tx);
}

export interface MatchingOptions {
  runId: string;
  schoolId: string;
  syncDateOfBirth: boolean;
  syncGender: boolean;
  /** Default false. */
  syncGradeLevel?: boolean;
  /** The school's `matching.enabled`: off, every new record is created as in v1. */
  matching: boolean;
  /** Which value is the school's "PowerSchool ID", for the issues this step reports. */
  powerschoolIdMapping: 'DCID' | 'STUDENT_NUMBER';
}

/** PowerSchool's date of birth as matching may use it: only when the school syncs it. */
function stagedDateOfBirth(o: MatchingOptions, alias: string) {
  return o.syncDateOfBirth ? sql.raw(`${alias}.date_of_birth`) : sql`null::date`;
}

export async function recordMatchDecisions(tx: Tx, o: MatchingOptions): Promise<void> {
  if (!o.matching) return;
  await withHashJoins(tx, () => decisionsStatement(o).execute(tx));
}

function decisionsStatement(o: MatchingOptions) {
  return sql`
      with fresh as (
        select s.dcid, s.first_name_key, s.last_name_key, s.graduation_year,
               ${stagedDateOfBirth(o, 's')} as date_of_birth
        from staged_students s
        where s.run_id = ${o.runId}
          and not exists (select 1 from students x where x.school_id = ${o.schoolId} and x.dcid = s.dcid)
      ),
      reviewed as (
        select r.id, r.dcid, r.status, r.resolution_action, r.resolution_student_id
        from match_reviews r
        where r.school_id = ${o.schoolId} and r.dcid in (select dcid from fresh)
      ),
      -- A person's link stands while the account is still unlinked; otherwise the review reopens.
      -- Two reviews resolved to the same account: the earlier review gets it, the other reopens.
      chosen as (
        select distinct on (st.id) rv.dcid, st.id as student_id
        from reviewed rv
        join students st on st.id = rv.resolution_student_id
        where rv.status = 'resolved' and rv.resolution_action = 'link'
          and st.school_id = ${o.schoolId} and st.status = 'unlinked'
        order by st.id, rv.id
      ),
      settled as (
        select dcid from reviewed where status = 'resolved' and resolution_action in ('create', 'ignore')
        union all
        select dcid from chosen
      ),
      cand as (
        select f.dcid, st.id as student_id
        from fresh f
        join students st on st.school_id = ${o.schoolId} and st.status = 'unlinked'
          and st.first_name_key = f.first_name_key and st.last_name_key = f.last_name_key
        where (case when f.date_of_birth is not null and st.date_of_birth is not null
                    then st.date_of_birth = f.date_of_birth
                    else st.graduation_year = f.graduation_year end)
          and not exists (select 1 from settled x where x.dcid = f.dcid)
          and not exists (select 1 from chosen c where c.student_id = st.id)
      ),
      per_record as (
        select dcid, count(*)::int as n, array_agg(student_id order by student_id) as ids
        from cand group by dcid
      ),
      per_student as (
        select student_id, count(*)::int as n from cand group by student_id
      ),
      decided as (
        select f.dcid,
          case
            when rv.status = 'resolved' and rv.resolution_action = 'ignore' then 'ignore'
            when rv.status = 'resolved' and rv.resolution_action = 'create' then null
            when ch.student_id is not null then 'link'
            when rv.dcid is not null then 'review'
            when pr.n > 1 or ps.n > 1 then 'review'
            when pr.n = 1 then 'link'
          end as decision,
          coalesce(ch.student_id,
                   case when rv.dcid is null and pr.n = 1 and ps.n = 1 then pr.ids[1] end) as student_id,
          coalesce(pr.ids, '{}'::uuid[]) as candidate_ids
        from fresh f
        left join reviewed rv on rv.dcid = f.dcid
        left join chosen ch on ch.dcid = f.dcid
        left join per_record pr on pr.dcid = f.dcid
        left join per_student ps on pr.n = 1 and ps.student_id = pr.ids[1]
      ),
      -- Links go straight into the run's changes (the create/update diff after it skips their
      -- DCIDs through run_changes' key); only reviews and ignores need a row of their own.
      linked as (
        insert into run_changes (run_id, dcid, type, before, after)
        select ${o.runId}, d.dcid, 'link', ${accountJson(o)}, ${linkedJson(o)}
        from decided d
        join staged_students s on s.run_id = ${o.runId} and s.dcid = d.dcid
        join students st on st.id = d.student_id and st.school_id = ${o.schoolId} and st.status = 'unlinked'
        where d.decision = 'link'
        on conflict (run_id, dcid) do nothing
      )
      insert into run_match_decisions (run_id, dcid, decision, candidate_ids)
      select ${o.runId}, dcid, decision, candidate_ids
      from decided
      where decision in ('review', 'ignore')
      on conflict (run_id, dcid) do nothing
    `;
}

/**
 * The records matching took out of the plain create/update diff (linked, under review, ignored),
 * for its `not exists`: excluded up front rather than left to run_changes' key, whose conflicts
 * cost as much as the inserts.
 */
export function decidedByMatching(runAlias: string, dcidAlias: string) {
  const run = sql.raw(runAlias);
  const dcid = sql.raw(dcidAlias);
  return sql`(exists (select 1 from run_match_decisions d where d.run_id = ${run} and d.dcid = ${dcid})
           or exists (select 1 from run_changes c where c.run_id = ${run} and c.dcid = ${dcid} and c.type = 'link'))`;
}

/** The account as imported (`before`) and as linked (`after`): both keep its id and externalId. */
function accountJson(o: MatchingOptions) {
  return sql`jsonb_build_object(
      'id', st.id,
      'externalId', st.external_id,
      'status', st.status,
      'dcid', st.dcid::text,
      'studentNumber', st.student_number,
      'firstName', st.first_name,
      'lastName', st.last_name,
      'graduationYear', st.graduation_year,
      'schoolNumber', st.school_number,
      'dateOfBirth', st.date_of_birth)
    || ${o.syncGender ? sql`jsonb_build_object('gender', st.gender)` : sql`'{}'::jsonb`}
    || ${o.syncGradeLevel ? sql`jsonb_build_object('gradeLevel', st.grade_level)` : sql`'{}'::jsonb`}`;
}

function linkedJson(o: MatchingOptions) {
  return sql`jsonb_build_object(
      'id', st.id,
      'externalId', st.external_id,
      'status', 'active',
      'dcid', s.dcid::text,
      'studentNumber', s.student_number,
      'firstName', s.first_name,
      'lastName', s.last_name,
      'graduationYear', s.graduation_year,
      'schoolNumber', s.school_number,
      'dateOfBirth', ${o.syncDateOfBirth ? sql`s.date_of_birth` : sql`st.date_of_birth`})
    || ${o.syncGender ? sql`jsonb_build_object('gender', s.gender)` : sql`'{}'::jsonb`}
    || ${o.syncGradeLevel ? sql`jsonb_build_object('gradeLevel', s.grade_level)` : sql`'{}'::jsonb`}`;
}

/**
 * POSSIBLE_DUPLICATE: valid records sharing both name keys and a date of birth with a record of
 * another DCID (PowerSchool holds one child twice, e.g. re-enrolled under a new number). Both are
 * still synced; the issue only says so.
 */
export async function recordPossibleDuplicates(tx: Tx, o: MatchingOptions): Promise<void> {
  if (!o.syncDateOfBirth) return;
  const powerschoolId = o.powerschoolIdMapping === 'STUDENT_NUMBER' ? sql`a.student_number` : sql`a.dcid::text`;
  await withHashJoins(tx, () =>
    sql`
      insert into run_issues (run_id, dcid, powerschool_id, field, code, message, skipped)
      select ${o.runId}, a.dcid::text, ${powerschoolId}, 'record', 'POSSIBLE_DUPLICATE',
             'same first name, last name and date of birth as DCID '
               || string_agg(b.dcid::text, ', ' order by b.dcid),
             false
      from staged_students a
      join staged_students b on b.run_id = a.run_id and b.dcid <> a.dcid
        and b.first_name_key = a.first_name_key and b.last_name_key = a.last_name_key
        and b.date_of_birth = a.date_of_birth
      where a.run_id = ${o.runId} and a.date_of_birth is not null
      group by a.dcid, a.student_number
      on conflict (run_id, dcid, field, code) do nothing
    `.execute(tx),
  );
}

/**
 * Applies the recorded links: the account takes the synced values, keeps its id, externalId and
 * every field the school does not sync, and becomes active. An account that stopped being
 * unlinked since the change was recorded is left alone.
 */
export async function applyLinks(tx: Tx, o: MatchingOptions): Promise<void> {
  await withHashJoins(tx, () =>
    sql`
      update students st set
        dcid = s.dcid,
        ${syncedAssignments(o)}
        first_name_key = s.first_name_key,
        last_name_key = s.last_name_key,
        status = 'active',
        linked_by_match = true,
        updated_at = now(),
        last_seen_run_id = ${o.runId}
      from run_changes c
      join staged_students s on s.run_id = c.run_id and s.dcid = c.dcid
      where c.run_id = ${o.runId} and c.type = 'link'
        and st.id = (c.before ->> 'id')::uuid and st.school_id = ${o.schoolId} and st.status = 'unlinked'
    `.execute(tx),
  );
}

/**
 * One review per DCID: a commit opens it, or refreshes its record and candidates (a review whose
 * chosen account was taken meanwhile is open again, its resolution cleared).
 */
export async function openReviews(tx: Tx, o: MatchingOptions): Promise<void> {
  await withHashJoins(tx, () =>
    sql`
      insert into match_reviews (school_id, dcid, student_number, first_name, last_name, date_of_birth,
                                 graduation_year, first_name_key, last_name_key, candidate_ids, run_id)
      select ${o.schoolId}, s.dcid, s.student_number, s.first_name, s.last_name, ${stagedDateOfBirth(o, 's')},
             s.graduation_year, s.first_name_key, s.last_name_key, d.candidate_ids, d.run_id
      from run_match_decisions d
      join staged_students s on s.run_id = d.run_id and s.dcid = d.dcid
      where d.run_id = ${o.runId} and d.decision = 'review'
      on conflict (school_id, dcid) do update set
        student_number = excluded.student_number,
        first_name = excluded.first_name,
        last_name = excluded.last_name,
        date_of_birth = excluded.date_of_birth,
        graduation_year = excluded.graduation_year,
        first_name_key = excluded.first_name_key,
        last_name_key = excluded.last_name_key,
        candidate_ids = excluded.candidate_ids,
        status = 'open',
        resolution_action = null,
        resolution_student_id = null,
        run_id = excluded.run_id,
        updated_at = now()
    `.execute(tx),
  );
}

/** linked: this run's `link` changes; needsReview: its records waiting for a person. */
export async function countMatching(tx: Tx, runId: string): Promise<{ linked: number; needsReview: number }> {
  const { rows } = await sql<{ linked: number; needs_review: number }>`
    select
      (select count(*) from run_changes where run_id = ${runId} and type = 'link')::int as linked,
      (select count(*) from run_match_decisions where run_id = ${runId} and decision = 'review')::int as needs_review
  `.execute(tx);
  const r = rows[0]!;
  return { linked: r.linked, needsReview: r.needs_review };
}
