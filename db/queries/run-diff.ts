// A run's set-based diff against the school's students: recorded (preview) or committed.
import { sql, type Transaction } from 'kysely';
import { abortableTransaction, setLocalTimeouts, type Db } from '../connection.js';
import type { Database } from '../types.js';
import { RUN_COUNT_COLUMNS, runCountColumns, runCountsOf, type RunCounts } from './run-counts.js';
import {
  applyLinks,
  countMatching,
  decidedByMatching,
  openReviews,
  recordMatchDecisions,
  recordPossibleDuplicates,
  type MatchingOptions,
} from './run-matching.js';
import { RunEndedError } from './staging.js';

/**
 * The set-based diff of a run's staged rows against the school's students, matched on DCID; new
 * DCIDs are matched against the school's unlinked accounts first (./run-matching.ts). One
 * statement per kind over the whole run, never one round-trip per student.
 *
 *   preview: records every create/update/link in run_changes and the counts; writes no student
 *            and opens no review.
 *   commit:  the same, then applies exactly the recorded changes, in the same transaction.
 *
 * Optional fields the school does not sync (date of birth, gender) are neither compared nor
 * written, and are left out of the recorded before/after. A run whose diff is already recorded
 * (runs.applied_at) returns its stored counts: after a commit, diffing again would find nothing
 * left to change and report the wrong counts.
 */

export interface DiffOptions extends MatchingOptions {
  mode: 'preview' | 'commit';
  /** Called between statements: a long diff keeps its activity's heartbeat going. */
  onStep?: () => void;
  /**
   * Ends the diff (a cancelled or timed-out activity): the statement in flight is cancelled and
   * the transaction rolled back, unless its COMMIT has already gone through.
   */
  signal?: AbortSignal;
}

/**
 * The diff's own limits, far above the pool's: one transaction of a handful of set-based
 * statements over the whole run. A 100,000-student commit takes about 3 s here (bench/), so a
 * 500,000-student one about 15 s, and minutes on a loaded server; 10 minutes per statement leaves
 * room for that many times over while staying well inside the activity's 30-minute
 * start-to-close. Lock waits get the same room: the run row's lock is held for the length of a
 * previous attempt's diff (an attempt that timed out but still runs), which is waited out.
 */
export const DIFF_STATEMENT_TIMEOUT_MS = 10 * 60_000;

type Tx = Transaction<Database>;

export async function diffRun(db: Db, options: DiffOptions): Promise<RunCounts> {
  const step = () => {
    options.onStep?.();
    options.signal?.throwIfAborted();
  };
  return abortableTransaction(db, options.signal, async (tx) => {
    await setLocalTimeouts(tx, {
      statementTimeoutMs: DIFF_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: DIFF_STATEMENT_TIMEOUT_MS,
    });
    // The row lock serialises two attempts of the same activity (a timed-out attempt may still
    // run) and orders the diff against the run's end (finishRun takes the same lock).
    const run = await tx
      .selectFrom('runs')
      .select(['status', 'applied_at', ...RUN_COUNT_COLUMNS])
      .where('id', '=', options.runId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (run.applied_at) return runCountsOf(run);
    // A run that already ended (cancelled, failed) gets no commit: its status says nothing was written.
    if (run.status !== 'running') throw new RunEndedError(options.runId, run.status);

    await recordMatchDecisions(tx, options);
    step();
    await recordChanges(tx, options);
    await recordPossibleDuplicates(tx, options);
    step();
    if (options.mode === 'commit') {
      await applyCreates(tx, options);
      step();
      await applyUpdates(tx, options);
      step();
      await applyLinks(tx, options);
      await openReviews(tx, options);
      step();
      await recordDepartures(tx, options);
      step();
    }
    const counts = await countRun(tx, options);
    await tx
      .updateTable('runs')
      .set({ applied_at: sql<Date>`now()`, ...runCountColumns(counts) })
      .where('id', '=', options.runId)
      .execute();
    return counts;
  });
}

/** A student as the contract names its fields, for run_changes.before/after. */
function studentJson(alias: 'st' | 's', o: DiffOptions) {
  const t = sql.raw(alias);
  return sql`jsonb_build_object(
      'dcid', ${t}.dcid::text,
      'studentNumber', ${t}.student_number,
      'firstName', ${t}.first_name,
      'lastName', ${t}.last_name,
      'graduationYear', ${t}.graduation_year)
    || ${o.syncDateOfBirth ? sql`jsonb_build_object('dateOfBirth', ${t}.date_of_birth)` : sql`'{}'::jsonb`}
    || ${o.syncGender ? sql`jsonb_build_object('gender', ${t}.gender)` : sql`'{}'::jsonb`}`;
}

/** The "after" of an update keeps the stored value of a field the school does not sync. */
function afterJson(o: DiffOptions) {
  return sql`jsonb_build_object(
      'dcid', s.dcid::text,
      'studentNumber', s.student_number,
      'firstName', s.first_name,
      'lastName', s.last_name,
      'graduationYear', s.graduation_year)
    || ${o.syncDateOfBirth ? sql`jsonb_build_object('dateOfBirth', s.date_of_birth)` : sql`'{}'::jsonb`}
    || ${o.syncGender ? sql`jsonb_build_object('gender', s.gender)` : sql`'{}'::jsonb`}`;
}

function differs(o: DiffOptions) {
  return sql`(
       st.student_number is distinct from s.student_number
    or st.first_name is distinct from s.first_name
    or st.last_name is distinct from s.last_name
    or st.graduation_year is distinct from s.graduation_year
    ${o.syncDateOfBirth ? sql`or st.date_of_birth is distinct from s.date_of_birth` : sql``}
    ${o.syncGender ? sql`or st.gender is distinct from s.gender` : sql``})`;
}

async function recordChanges(tx: Tx, o: DiffOptions): Promise<void> {
  await sql`
    insert into run_changes (run_id, dcid, type, before, after)
    select s.run_id, s.dcid,
           case when st.id is null then 'create' else 'update' end,
           case when st.id is null then null else ${studentJson('st', o)} end,
           ${afterJson(o)}
    from staged_students s
    left join students st on st.school_id = ${o.schoolId} and st.dcid = s.dcid
    where s.run_id = ${o.runId}
      and (st.id is null or ${differs(o)})
      and not ${decidedByMatching('s.run_id', 's.dcid')}
    on conflict (run_id, dcid) do nothing
  `.execute(tx);
}

async function applyCreates(tx: Tx, o: DiffOptions): Promise<void> {
  await sql`
    insert into students (school_id, dcid, student_number, first_name, last_name, graduation_year,
                          date_of_birth, gender, last_seen_run_id)
    select ${o.schoolId}, s.dcid, s.student_number, s.first_name, s.last_name, s.graduation_year,
           ${o.syncDateOfBirth ? sql`s.date_of_birth` : sql`null`},
           ${o.syncGender ? sql`s.gender` : sql`null`},
           ${o.runId}
    from run_changes c
    join staged_students s on s.run_id = c.run_id and s.dcid = c.dcid
    where c.run_id = ${o.runId} and c.type = 'create'
    on conflict (school_id, dcid) do nothing
  `.execute(tx);
}

async function applyUpdates(tx: Tx, o: DiffOptions): Promise<void> {
  await sql`
    update students st set
      student_number = s.student_number,
      first_name = s.first_name,
      last_name = s.last_name,
      graduation_year = s.graduation_year,
      ${o.syncDateOfBirth ? sql`date_of_birth = s.date_of_birth,` : sql``}
      ${o.syncGender ? sql`gender = s.gender,` : sql``}
      updated_at = now(),
      last_seen_run_id = ${o.runId}
    from run_changes c
    join staged_students s on s.run_id = c.run_id and s.dcid = c.dcid
    where c.run_id = ${o.runId} and c.type = 'update'
      and st.school_id = ${o.schoolId} and st.dcid = c.dcid
  `.execute(tx);
}

/**
 * Unchanged students are not written: while in scope, their lastSeenRunId is derived from the
 * school's latest commit (db/queries/listings.ts). Leaving scope and coming back are recorded in
 * departed_students, never on the student row, so a no-change re-sync writes no student row and
 * a student who left is never touched.
 */
async function recordDepartures(tx: Tx, o: DiffOptions): Promise<void> {
  await sql`
    delete from departed_students d
    using staged_students s
    where d.school_id = ${o.schoolId} and s.run_id = ${o.runId} and s.dcid = d.dcid
  `.execute(tx);
  // The last commit that saw a student who left is the school's previous commit.
  await sql`
    insert into departed_students (school_id, dcid, last_seen_run_id)
    select st.school_id, st.dcid, coalesce(
             (select r.id from runs r
               where r.school_id = ${o.schoolId} and not r.test_run and r.applied_at is not null
                 and r.id <> ${o.runId}
               order by r.applied_at desc limit 1),
             st.last_seen_run_id)
    from students st
    where st.school_id = ${o.schoolId} and st.status <> 'unlinked'
      and not exists (select 1 from staged_students s where s.run_id = ${o.runId} and s.dcid = st.dcid)
      and not exists (select 1 from run_issues i
                      where i.run_id = ${o.runId} and i.skipped and i.dcid = st.dcid::text)
    on conflict (school_id, dcid) do nothing
  `.execute(tx);
}

/**
 * missing: the school's linked students not staged this run (an unlinked account has no DCID to
 * miss) — except those PowerSchool did return but
 * whose record was skipped as invalid (they are counted as invalid, not as gone).
 */
async function countRun(tx: Tx, o: DiffOptions): Promise<RunCounts> {
  const { rows } = await sql<{
    staged: number;
    created: number;
    updated: number;
    invalid: number;
    missing: number;
  }>`
    select
      (select count(*) from staged_students where run_id = ${o.runId})::int as staged,
      (select count(*) from run_changes where run_id = ${o.runId} and type = 'create')::int as created,
      (select count(*) from run_changes where run_id = ${o.runId} and type = 'update')::int as updated,
      (select count(distinct dcid) from run_issues where run_id = ${o.runId} and skipped)::int as invalid,
      (select count(*) from students st
        where st.school_id = ${o.schoolId} and st.status <> 'unlinked'
          and not exists (select 1 from staged_students s where s.run_id = ${o.runId} and s.dcid = st.dcid)
          and not exists (select 1 from run_issues i
                          where i.run_id = ${o.runId} and i.skipped and i.dcid = st.dcid::text)
      )::int as missing
  `.execute(tx);
  const r = rows[0]!;
  const { linked, needsReview } = await countMatching(tx, o.runId);
  return {
    fetched: r.staged + r.invalid,
    created: r.created,
    updated: r.updated,
    unchanged: r.staged - r.created - r.updated - linked - needsReview,
    invalid: r.invalid,
    missing: r.missing,
    linked,
    needsReview,
  };
}
