// The API's keyset-paginated lists: runs, changes, issues and students.
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import { PreparedQuery } from './prepared.js';
import type { ChangeType, Run, Student, StudentStatus } from '../types.js';

/**
 * The API's read side. Every list is keyset-paginated on a unique sort key, so following cursors
 * visits each row exactly once even while rows are added. Each function fetches `limit + 1` rows:
 * the extra one only tells the caller whether there is a next page.
 */

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

function page<T>(rows: T[], limit: number): Page<T> {
  return { items: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** started_at to the microsecond, as text: a JS Date would drop microseconds and break the keyset. */
const startedAtKey = sql<string>`to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export type RunWithKey = Run & { started_at_key: string };

export interface RunsAfter {
  startedAt: string;
  id: string;
}

/** A school's runs, newest first (started_at, then id, both descending). */
export async function listRuns(
  db: Db,
  schoolId: string,
  opts: { limit: number; after?: RunsAfter },
): Promise<Page<RunWithKey>> {
  const rows = await runsPage.execute(db, {
    schoolId,
    limit: opts.limit + 1,
    afterStartedAt: opts.after?.startedAt,
    afterId: opts.after?.id,
  });
  return page(rows, opts.limit);
}

const runsPage = new PreparedQuery(
  ['schoolId', 'limit', 'afterStartedAt', 'afterId'],
  (db, a: { schoolId: string; limit: number; afterStartedAt?: string | undefined; afterId?: string | undefined }) =>
    db
      .selectFrom('runs')
      .selectAll()
      .select(startedAtKey.as('started_at_key'))
      .where('school_id', '=', a.schoolId)
      .$if(a.afterStartedAt !== undefined, (q) =>
        q.where(sql<boolean>`(started_at, id) < (${a.afterStartedAt}::timestamptz, ${a.afterId})`),
      )
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(a.limit),
);

export async function getLatestRun(db: Db, schoolId: string): Promise<Run | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('school_id', '=', schoolId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export interface ChangeRow {
  dcid: string;
  type: ChangeType;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  student_number: string | null;
}

/** A run's changes in DCID order. `student_number` comes from the change itself (after, else before). */
export async function listChanges(
  db: Db,
  runId: string,
  opts: { limit: number; type?: ChangeType; afterDcid?: string },
): Promise<Page<ChangeRow>> {
  let q = db
    .selectFrom('run_changes')
    .select([
      sql<string>`dcid::text`.as('dcid'),
      'type',
      'before',
      'after',
      sql<string | null>`coalesce(after->>'studentNumber', before->>'studentNumber')`.as('student_number'),
    ])
    .where('run_id', '=', runId);
  if (opts.type) q = q.where('type', '=', opts.type);
  if (opts.afterDcid !== undefined) q = q.where('dcid', '>', opts.afterDcid);
  const rows = await q
    .orderBy('dcid', 'asc')
    .limit(opts.limit + 1)
    .execute();
  return page(rows as ChangeRow[], opts.limit);
}

export interface IssueRow {
  id: string;
  dcid: string;
  powerschool_id: string | null;
  field: string;
  code: string;
  message: string;
  skipped: boolean;
}

/** A run's issues in the order they were recorded (bigserial id). */
export async function listIssues(
  db: Db,
  runId: string,
  opts: { limit: number; afterId?: string },
): Promise<Page<IssueRow>> {
  let q = db
    .selectFrom('run_issues')
    .select(['id', 'dcid', 'powerschool_id', 'field', 'code', 'message', 'skipped'])
    .where('run_id', '=', runId);
  if (opts.afterId !== undefined) q = q.where('id', '>', opts.afterId);
  const rows = await q
    .orderBy('id', 'asc')
    .limit(opts.limit + 1)
    .execute();
  return page(rows, opts.limit);
}

/** A student as the API lists it (match keys and how it was linked stay inside). */
export type StudentRow = Omit<Student, 'first_name_key' | 'last_name_key' | 'linked_by_match'>;

/** A listed student, with the school's integration's PowerSchool-ID mapping (null: no integration). */
export type StudentListRow = StudentRow & { id_mapping: 'DCID' | 'STUDENT_NUMBER' | null };

/** Where a students page starts: after a DCID (linked students), or after an id among the accounts without one. */
export type StudentsAfter = { dcid: string } | { unlinkedId: string };

/**
 * A school's students in DCID order (unique per school), then the unlinked accounts (no DCID yet)
 * in id order. lastSeenRunId (migration 0300): the departure's for a student who left scope, null
 * for an unlinked account, otherwise the school's latest commit. Each row also carries the
 * integration's mapping column, so GET /students needs no second query for it.
 */
export interface StudentsPageOptions {
  limit: number;
  after?: StudentsAfter;
  /** Only students with this status; omitted: every student. */
  status?: StudentStatus;
}

export async function listStudents(db: Db, schoolId: string, opts: StudentsPageOptions): Promise<Page<StudentListRow>> {
  const after = opts.after;
  const linked =
    (after && 'unlinkedId' in after) || opts.status === 'unlinked'
      ? []
      : await linkedStudentsPage.execute(db, {
          schoolId,
          limit: opts.limit + 1,
          afterDcid: after && 'dcid' in after ? after.dcid : undefined,
          status: opts.status,
        });
  if (linked.length > opts.limit || (opts.status !== undefined && opts.status !== 'unlinked'))
    return page(linked, opts.limit);
  // Two keyset scans rather than one ORDER BY over "dcid nulls last": each stays an index range scan.
  const unlinked = await unlinkedStudentsPage.execute(db, {
    schoolId,
    limit: opts.limit + 1 - linked.length,
    afterId: after && 'unlinkedId' in after ? after.unlinkedId : undefined,
  });
  return page([...linked, ...unlinked], opts.limit);
}

/** The query behind listStudents' linked part (exported so the benchmark's bare handler runs the very same SQL). */
export function studentsPageQuery(
  db: Db,
  schoolId: string,
  opts: { limit: number; afterDcid?: string; status?: StudentStatus },
) {
  return linkedStudentsQuery(db, schoolId, opts).limit(opts.limit + 1);
}

function linkedStudentsQuery(
  db: Db,
  schoolId: string,
  opts: { afterDcid?: string | undefined; status?: StudentStatus | undefined },
) {
  let q = studentsQuery(db, schoolId).where('s.dcid', 'is not', null);
  if (opts.afterDcid !== undefined) q = q.where('s.dcid', '>', opts.afterDcid);
  if (opts.status !== undefined) q = q.where('s.status', '=', opts.status);
  return q.orderBy('s.dcid', 'asc');
}

const linkedStudentsPage = new PreparedQuery(
  ['schoolId', 'limit', 'afterDcid', 'status'],
  (db, a: { schoolId: string; limit: number; afterDcid?: string | undefined; status?: StudentStatus | undefined }) =>
    linkedStudentsQuery(db, a.schoolId, a).limit(a.limit),
);

const unlinkedStudentsPage = new PreparedQuery(
  ['schoolId', 'limit', 'afterId'],
  (db, a: { schoolId: string; limit: number; afterId?: string | undefined }) =>
    studentsQuery(db, a.schoolId)
      .where('s.dcid', 'is', null)
      .$if(a.afterId !== undefined, (q) => q.where('s.id', '>', a.afterId!))
      .orderBy('s.id', 'asc')
      .limit(a.limit),
);

/** Some students of a school, by id, as the list shows them (a review's candidates, an unlinked student). */
export async function listStudentsByIds(db: Db, schoolId: string, ids: string[]): Promise<StudentListRow[]> {
  if (ids.length === 0) return [];
  return studentsQuery(db, schoolId).where('s.id', 'in', ids).execute();
}

function studentsQuery(db: Db, schoolId: string) {
  // Uncorrelated, so PostgreSQL evaluates it once per query.
  const latestCommit = db
    .selectFrom('runs')
    .select('id')
    .where('school_id', '=', schoolId)
    .where('test_run', '=', false)
    .where('applied_at', 'is not', null)
    .orderBy('applied_at', 'desc')
    .limit(1);
  return (
    db
      .selectFrom('students as s')
      .leftJoin('departed_students as d', (join) =>
        join.onRef('d.school_id', '=', 's.school_id').onRef('d.dcid', '=', 's.dcid'),
      )
      .select([
        's.id',
        's.school_id',
        's.dcid',
        's.student_number',
        's.first_name',
        's.last_name',
        's.graduation_year',
        's.date_of_birth',
        's.gender',
        's.grade_level',
        's.school_number',
        's.status',
        's.departed_at',
        's.departure_reason',
        's.external_id',
        's.created_at',
        's.updated_at',
      ])
      .select((eb) =>
        eb
          .case()
          .when('d.dcid', 'is not', null)
          .then(eb.ref('d.last_seen_run_id'))
          // An unlinked account was never seen by a run.
          .when('s.status', '=', 'unlinked')
          .then(sql<string | null>`null`)
          .else(eb.fn.coalesce(latestCommit, 's.last_seen_run_id'))
          .end()
          .as('last_seen_run_id'),
      )
      // Uncorrelated too: one primary-key lookup per query.
      .select((eb) =>
        eb
          .selectFrom('integrations')
          .select('mapping_powerschool_id')
          .where('school_id', '=', schoolId)
          .as('id_mapping'),
      )
      .where('s.school_id', '=', schoolId)
  );
}

/** For /readyz. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
