// A run's set-based diff against the school's students: recorded (preview) or committed.
import { sql, type Transaction } from 'kysely';
import { abortableTransaction, setLocalTimeouts, type Db } from '../connection.js';
import type { Database, Run } from '../types.js';
import { RUN_COUNT_COLUMNS, runCountColumns, runCountsOf, type RunCounts } from './run-counts.js';
import { applyDepartChanges, recordDepartChanges, type DepartureScope } from './run-departures.js';
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
import { syncedAssignments } from './synced-columns.js';

/**
 * The set-based diff of a run's staged rows against the school's students, matched on DCID; new
 * DCIDs are matched against the school's unlinked accounts first (./run-matching.ts). One
 * statement per kind over the whole run, never one round-trip per student.
 *
 *   preview: records every create/update/depart/link in run_changes and the counts; writes no
 *            student and opens no match review.
 *   commit:  the same, then applies exactly the recorded changes, in the same transaction —
 *            unless `holdCheck` holds it: then the changes stay recorded, unapplied, for a person
 *            to approve (db/queries/run-hold.ts applies them later).
 *
 * Optional fields the school does not sync (date of birth, gender) are neither compared nor
 * written, and are left out of the recorded before/after. A run whose diff is already recorded
 * (runs.applied_at) returns its stored counts: after a commit, diffing again would find nothing
 * left to change and report the wrong counts.
 */

export interface DiffOptions extends MatchingOptions {
  /** Default false. */
  syncGradeLevel?: boolean;
  /**
   * Optional fields switched on since the school's previous commit: an update that only sets
   * these (or fills an empty schoolNumber) is recorded as a fill, which the safety hold skips.
   */
  newlySynced?: { dateOfBirth?: boolean; gender?: boolean; gradeLevel?: boolean };
  /** What the run read; without it nobody departs (a record in scope after all never does). */
  scope?: DepartureScope;
  mode: 'preview' | 'commit';
  /** Called between statements: a long diff keeps its activity's heartbeat going. */
  onStep?: () => void;
  /**
   * Ends the diff (a cancelled or timed-out activity): the statement in flight is cancelled and
   * the transaction rolled back, unless its COMMIT has already gone through.
   */
  signal?: AbortSignal;
  /**
   * Commit only: called once the changes are recorded and before any student is written; true
   * when it held the run (status `held`), which leaves the students untouched.
   */
  holdCheck?: (tx: Transaction<Database>) => Promise<boolean>;
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

/** What a diff transaction is told: how to report progress, and when to stop. */
export interface DiffSteps {
  onStep?: () => void;
  signal?: AbortSignal;
}

/**
 * One transaction over a run's recorded diff, with the diff's own limits and the run row locked:
 * the lock serialises two attempts of the same activity (a timed-out attempt may still run) and
 * orders the diff against the run's end (finishRun takes the same lock). `step` reports progress
 * between statements and stops at a cancel.
 */
export async function inDiffTransaction<T>(
  db: Db,
  runId: string,
  o: DiffSteps,
  body: (tx: Tx, run: LockedRun, step: () => void) => Promise<T>,
): Promise<T> {
  const step = () => {
    o.onStep?.();
    o.signal?.throwIfAborted();
  };
  return abortableTransaction(db, o.signal, async (tx) => {
    await setLocalTimeouts(tx, {
      statementTimeoutMs: DIFF_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: DIFF_STATEMENT_TIMEOUT_MS,
    });
    const run = await tx
      .selectFrom('runs')
      .select(['status', 'applied_at', ...RUN_COUNT_COLUMNS])
      .where('id', '=', runId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    return body(tx, run, step);
  });
}

type LockedRun = Pick<Run, 'status' | 'applied_at' | (typeof RUN_COUNT_COLUMNS)[number]>;

export async function diffRun(db: Db, options: DiffOptions): Promise<RunCounts> {
  return inDiffTransaction(db, options.runId, options, async (tx, run, step) => {
    // Applied, or held by an earlier attempt: its counts are recorded, nothing more to do here.
    if (run.applied_at || run.status === 'held') return runCountsOf(run);
    // A run that already ended (cancelled, failed) gets no commit: its status says nothing was written.
    if (run.status !== 'running') throw new RunEndedError(options.runId, run.status);

    await recordMatchDecisions(tx, options);
    step();
    await recordChanges(tx, options);
    await recordPossibleDuplicates(tx, options);
    step();
    if (options.scope) {
      await recordDepartChanges(tx, { ...options, scope: options.scope, studentJson: studentJson('st', options) });
      step();
    }
    const held = options.mode === 'commit' && options.holdCheck ? await options.holdCheck(tx) : false;
    step();
    if (options.mode === 'commit' && !held) await applyRecordedChanges(tx, options, step);
    const counts = await countRun(tx, options);
    await tx
      .updateTable('runs')
      .set({ ...(held ? {} : { applied_at: sql<Date>`now()` }), ...runCountColumns(counts) })
      .where('id', '=', options.runId)
      .execute();
    return counts;
  });
}

/**
 * Writes exactly the run's recorded changes to the school's students (and records who left), and
 * opens the match reviews the run decided: a held run does neither until it is approved.
 */
export async function applyRecordedChanges(tx: Tx, o: ApplyOptions, step: () => void): Promise<void> {
  await applyCreates(tx, o);
  step();
  await applyUpdates(tx, o);
  step();
  await applyLinks(tx, o);
  await openReviews(tx, o);
  step();
  await applyDepartChanges(tx, o);
  step();
  await recordDepartures(tx, o);
  step();
}

/** The options that shape a student's recorded JSON. */
type JsonOptions = Pick<DiffOptions, 'syncDateOfBirth' | 'syncGender' | 'syncGradeLevel'>;
type ApplyOptions = Pick<
  DiffOptions,
  'runId' | 'schoolId' | 'syncDateOfBirth' | 'syncGender' | 'syncGradeLevel' | 'matching' | 'powerschoolIdMapping'
>;

/**
 * A student as the contract names its fields, for run_changes.before/after (and, compared with a
 * recorded `before`, to tell whether a held change is still what was shown). One
 * jsonb_build_object with the synced fields inline: each `||` of two jsonb values rebuilds the
 * object, which over a 100,000-student diff is a large share of recording it.
 */
export function studentJson(alias: 'st' | 's', o: JsonOptions) {
  const t = sql.raw(alias);
  return sql`jsonb_build_object(
      'dcid', ${t}.dcid::text,
      'studentNumber', ${t}.student_number,
      'firstName', ${t}.first_name,
      'lastName', ${t}.last_name,
      'graduationYear', ${t}.graduation_year,
      'schoolNumber', ${t}.school_number
      ${o.syncDateOfBirth ? sql`, 'dateOfBirth', ${t}.date_of_birth` : sql``}
      ${o.syncGender ? sql`, 'gender', ${t}.gender` : sql``}
      ${o.syncGradeLevel ? sql`, 'gradeLevel', ${t}.grade_level` : sql``})`;
}

/**
 * The `before` an update or depart change records for the stored student `st`; compared with the
 * stored student again, it tells whether a held change is still what was shown. A departed
 * student who is back says so in its before and after (the hold does not count returns).
 */
export function recordedBefore(o: JsonOptions) {
  return sql`(case when st.status = 'departed'
    then ${studentJson('st', o)} || jsonb_build_object('status', st.status, 'departureReason', st.departure_reason)
    else ${studentJson('st', o)} end)`;
}

/** The `after` an update records: the staged student, back to active if it had departed. */
function updatedAfter(o: JsonOptions) {
  return sql`(case when st.status = 'departed'
    then ${studentJson('s', o)} || jsonb_build_object('status', 'active', 'departureReason', null)
    else ${studentJson('s', o)} end)`;
}

/**
 * Differences that make an update more than a fill: every synced field, except an empty
 * schoolNumber being filled and the fields the school has just switched on.
 */
function differsBeyondFill(o: DiffOptions) {
  const newly = o.newlySynced ?? {};
  return sql`(
       st.student_number is distinct from s.student_number
    or st.first_name is distinct from s.first_name
    or st.last_name is distinct from s.last_name
    or st.graduation_year is distinct from s.graduation_year
    or st.status = 'departed'
    or (st.school_number is not null and st.school_number is distinct from s.school_number)
    ${o.syncDateOfBirth && !newly.dateOfBirth ? sql`or st.date_of_birth is distinct from s.date_of_birth` : sql``}
    ${o.syncGender && !newly.gender ? sql`or st.gender is distinct from s.gender` : sql``}
    ${o.syncGradeLevel && !newly.gradeLevel ? sql`or st.grade_level is distinct from s.grade_level` : sql``})`;
}

function differs(o: DiffOptions) {
  return sql`(
       ${differsBeyondFill(o)}
    or st.school_number is distinct from s.school_number
    ${o.syncDateOfBirth ? sql`or st.date_of_birth is distinct from s.date_of_birth` : sql``}
    ${o.syncGender ? sql`or st.gender is distinct from s.gender` : sql``}
    ${o.syncGradeLevel ? sql`or st.grade_level is distinct from s.grade_level` : sql``})`;
}

async function recordChanges(tx: Tx, o: DiffOptions): Promise<void> {
  await sql`
    insert into run_changes (run_id, dcid, type, before, after, fill)
    select s.run_id, s.dcid,
           case when st.id is null then 'create' else 'update' end,
           case when st.id is null then null else ${recordedBefore(o)} end,
           case when st.id is null then ${studentJson('s', o)} else ${updatedAfter(o)} end,
           st.id is not null and not ${differsBeyondFill(o)}
    from staged_students s
    left join students st on st.school_id = ${o.schoolId} and st.dcid = s.dcid
    where s.run_id = ${o.runId}
      and (st.id is null or ${differs(o)})
      and not ${decidedByMatching('s.run_id', 's.dcid')}
    on conflict (run_id, dcid) do nothing
  `.execute(tx);
}

async function applyCreates(tx: Tx, o: ApplyOptions): Promise<void> {
  await sql`
    insert into students (school_id, dcid, student_number, first_name, last_name, graduation_year,
                          date_of_birth, gender, grade_level, school_number, last_seen_run_id)
    select ${o.schoolId}, s.dcid, s.student_number, s.first_name, s.last_name, s.graduation_year,
           ${o.syncDateOfBirth ? sql`s.date_of_birth` : sql`null`},
           ${o.syncGender ? sql`s.gender` : sql`null`},
           ${o.syncGradeLevel ? sql`s.grade_level` : sql`null`},
           s.school_number,
           ${o.runId}
    from run_changes c
    join staged_students s on s.run_id = c.run_id and s.dcid = c.dcid
    where c.run_id = ${o.runId} and c.type = 'create'
    on conflict (school_id, dcid) do nothing
  `.execute(tx);
}

async function applyUpdates(tx: Tx, o: ApplyOptions): Promise<void> {
  await sql`
    update students st set
      ${syncedAssignments(o)}
      status = 'active',
      departed_at = null,
      departure_reason = null,
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
async function recordDepartures(tx: Tx, o: ApplyOptions): Promise<void> {
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
 * missing: the school's linked students (active or departed; an unlinked account has no DCID to
 * miss) not staged this run — except those PowerSchool did return but
 * whose record was skipped as invalid (they are counted as invalid, not as gone).
 */
async function countRun(tx: Tx, o: DiffOptions): Promise<RunCounts> {
  const { rows } = await sql<{
    staged: number;
    created: number;
    updated: number;
    invalid: number;
    missing: number;
    departed: number;
  }>`
    select
      (select count(*) from staged_students where run_id = ${o.runId})::int as staged,
      (select count(*) from run_changes where run_id = ${o.runId} and type = 'create')::int as created,
      (select count(*) from run_changes where run_id = ${o.runId} and type = 'update')::int as updated,
      (select count(*) from run_changes where run_id = ${o.runId} and type = 'depart')::int as departed,
      (select count(distinct dcid) from run_issues where run_id = ${o.runId} and skipped)::int as invalid,
      (select count(*) from students st
        where st.school_id = ${o.schoolId} and st.dcid is not null and st.status in ('active', 'departed')
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
    departed: r.departed,
    linked,
    needsReview,
  };
}
