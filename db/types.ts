// Kysely's view of the schema: one interface per table.
import type { ColumnType, Generated, Insertable, RawBuilder, Selectable } from 'kysely';

/** Kysely's view of the schema in ./migrations. bigint columns come back from pg as strings. */

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp the database fills in (default now()) unless one is given. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type BigIntColumn = ColumnType<string, string | number | bigint, string | number | bigint>;
/** pg returns `date` as a string because db/connection.ts turns off its Date parsing. */
type DateColumn = ColumnType<string | null, string | null | undefined, string | null>;

/** One blackout: YYYY-MM-DD dates, inclusive, in the schedule's zone. */
export interface BlackoutRange {
  from: string;
  to: string;
}

export interface IntegrationsTable {
  school_id: string;
  server_url: string;
  client_id: string;
  client_secret_encrypted: string;
  client_secret_key_id: string;
  active: Generated<boolean>;
  test_run: Generated<boolean>;
  notifications_enabled: Generated<boolean>;
  notification_recipients: Generated<string[]>;
  grade_from: number;
  grade_to: number;
  mapping_powerschool_id: Generated<'DCID' | 'STUDENT_NUMBER'>;
  mapping_date_of_birth: Generated<boolean>;
  mapping_gender: Generated<boolean>;
  mapping_grade_level: Generated<boolean>;
  /** PowerSchool school numbers to sync; empty: every school the plugin sees. */
  powerschool_schools: ColumnType<number[], number[] | undefined, number[]>;
  schedule_cron: Generated<string>;
  schedule_timezone: Generated<string>;
  /** Why a bulk pause paused the school; null otherwise (cleared by a per-school pause or resume). */
  pause_note: string | null;
  /** The school was paused by a bulk pause (a bulk resume of `all` wakes only these). */
  paused_in_bulk: Generated<boolean>;
  /** Inclusive date ranges in the schedule's zone with no scheduled run. */
  blackouts: ColumnType<BlackoutRange[], string | undefined, string>;
  /** Moves on every settings write (db/queries/integrations.ts); see its migration. */
  settings_version: ColumnType<string, never, RawBuilder<unknown>>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export type RunStatus = 'running' | 'held' | 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'discarded';
export type RunTrigger = 'schedule' | 'manual';
export type NotificationStatus = 'disabled' | 'pending' | 'sent' | 'failed';

export interface RunsTable {
  id: string;
  school_id: string;
  temporal_run_id: string | null;
  trigger: RunTrigger;
  test_run: boolean;
  status: Generated<RunStatus>;
  started_at: DefaultedTimestamp;
  finished_at: Timestamp | null;
  settings: ColumnType<unknown, string | null | undefined, string | null>;
  pages_fetched: Generated<number>;
  pages_total: number | null;
  records_fetched: Generated<number>;
  records_total: number | null;
  count_fetched: Generated<number>;
  count_created: Generated<number>;
  count_updated: Generated<number>;
  count_unchanged: Generated<number>;
  count_invalid: Generated<number>;
  count_missing: Generated<number>;
  count_departed: Generated<number>;
  error_code: string | null;
  error_message: string | null;
  notification_status: Generated<NotificationStatus>;
  notification_message_id: string | null;
  /** Set when the run's diff was recorded (preview) or committed; guards applyRun/previewRun retries. */
  applied_at: Timestamp | null;
}

export interface StagedStudentsTable {
  run_id: string;
  dcid: BigIntColumn;
  student_number: string | null;
  first_name: string;
  last_name: string;
  graduation_year: number;
  date_of_birth: DateColumn;
  gender: string | null;
  grade_level: number | null;
  school_number: number | null;
}

export interface RunIssuesTable {
  id: Generated<string>;
  run_id: string;
  dcid: string;
  powerschool_id: string | null;
  field: string;
  code: string;
  message: string;
  skipped: boolean;
}

export type ChangeType = 'create' | 'update' | 'depart' | 'link';
export type StudentStatus = 'active' | 'departed' | 'unlinked';

export interface RunChangesTable {
  run_id: string;
  dcid: BigIntColumn;
  type: ChangeType;
  before: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  after: ColumnType<Record<string, unknown>, string, string>;
  /** An update that only fills schoolNumber or a just-switched-on field: the safety hold skips it. */
  fill: Generated<boolean>;
}

export type DepartureReason = 'graduated' | 'transferred' | 'inactive' | 'out_of_scope' | 'not_found';

/** What PowerSchool said, unscoped, about a DCID a run did not receive in scope. */
export interface RunDepartureLookupsTable {
  run_id: string;
  dcid: BigIntColumn;
  asked_unenrolled: Generated<boolean>;
  looked_up: Generated<boolean>;
  found: Generated<boolean>;
  enroll_status: number | null;
  school_number: number | null;
  grade_level: number | null;
}

export interface StudentsTable {
  id: Generated<string>;
  school_id: string;
  dcid: BigIntColumn;
  student_number: string | null;
  first_name: string;
  last_name: string;
  graduation_year: number;
  date_of_birth: DateColumn;
  gender: string | null;
  grade_level: number | null;
  /** The PowerSchool school the student was last seen in. */
  school_number: number | null;
  status: Generated<StudentStatus>;
  departed_at: Timestamp | null;
  departure_reason: DepartureReason | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  /** Set when the row is written; read lastSeenRunId through db/queries/listings.ts (migration 0300). */
  last_seen_run_id: string | null;
}

export interface DepartedStudentsTable {
  school_id: string;
  dcid: BigIntColumn;
  last_seen_run_id: string | null;
  departed_at: DefaultedTimestamp;
}

export interface EmailOutboxTable {
  id: Generated<string>;
  run_id: string;
  school_id: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  created_at: DefaultedTimestamp;
}

/** A scheduled fire that came due and started no sync (services/schedules-due.ts records it). */
export interface MissedScheduledRunsTable {
  school_id: string;
  nominal_at: Timestamp;
  recorded_at: DefaultedTimestamp;
}

export interface Database {
  integrations: IntegrationsTable;
  runs: RunsTable;
  staged_students: StagedStudentsTable;
  run_issues: RunIssuesTable;
  run_changes: RunChangesTable;
  run_departure_lookups: RunDepartureLookupsTable;
  students: StudentsTable;
  departed_students: DepartedStudentsTable;
  email_outbox: EmailOutboxTable;
  missed_scheduled_runs: MissedScheduledRunsTable;
}

export type Integration = Selectable<IntegrationsTable>;
export type NewIntegration = Insertable<IntegrationsTable>;
export type Run = Selectable<RunsTable>;
export type Student = Selectable<StudentsTable>;
