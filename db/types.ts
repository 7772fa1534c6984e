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
  /** Match new PowerSchool records against the school's unlinked (imported) accounts. */
  matching_enabled: Generated<boolean>;
  schedule_cron: Generated<string>;
  schedule_timezone: Generated<string>;
  /** Why a bulk pause paused the school; null otherwise (cleared by a per-school pause or resume). */
  pause_note: string | null;
  /** The school was paused by a bulk pause (a bulk resume of `all` wakes only these). */
  paused_in_bulk: Generated<boolean>;
  /** Inclusive date ranges in the schedule's zone with no scheduled run. */
  blackouts: ColumnType<BlackoutRange[], string | undefined, string>;
  /** The safety hold's thresholds (db/queries/safety-settings.ts reads them as one object). */
  safety_enabled: Generated<boolean>;
  safety_max_departed_percent: Generated<number>;
  safety_max_updated_percent: Generated<number>;
  safety_min_students: Generated<number>;
  safety_hold_days: Generated<number>;
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
  count_linked: Generated<number>;
  count_needs_review: Generated<number>;
  error_code: string | null;
  error_message: string | null;
  notification_status: Generated<NotificationStatus>;
  notification_message_id: string | null;
  /** Set when the run's diff was recorded (preview) or committed; guards applyRun/previewRun retries. */
  applied_at: Timestamp | null;
  /** Why a commit was held (HoldReason[], db/queries/run-hold.ts); null for a run never held. */
  hold_reasons: ColumnType<HoldReason[] | null, string | null | undefined, string | null>;
  held_at: Timestamp | null;
  hold_expires_at: Timestamp | null;
}

export type HoldReasonCode = 'TOO_MANY_DEPARTURES' | 'TOO_MANY_UPDATES';

/** One threshold a held commit crossed: how many of how many, as a percent, against which limit. */
export interface HoldReason {
  code: HoldReasonCode;
  count: number;
  base: number;
  /** Rounded to 0.1. */
  percent: number;
  limit: number;
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
  /** shared/match-key.ts of the names, computed when staged. */
  first_name_key: string | null;
  last_name_key: string | null;
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
  /** Null only while `unlinked` (an imported account no PowerSchool record has claimed). */
  dcid: ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
  student_number: string | null;
  first_name: string;
  last_name: string;
  /** Null only for an imported account that came without one. */
  graduation_year: ColumnType<number | null, number | null | undefined, number | null>;
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
  /** Cialfo's id of an imported account (unique per school); null for students the sync created. */
  external_id: string | null;
  /** shared/match-key.ts of the names; kept for unlinked accounts, which are what matching probes. */
  first_name_key: string | null;
  last_name_key: string | null;
  /** Linked to its DCID by matching (unlink may undo it), not created by the sync. */
  linked_by_match: Generated<boolean>;
}

/** A new record matching kept out of the create/update diff; links are recorded as `link` changes. */
export type MatchDecision = 'review' | 'ignore';

export interface RunMatchDecisionsTable {
  run_id: string;
  dcid: BigIntColumn;
  decision: MatchDecision;
  candidate_ids: Generated<string[]>;
}

export type MatchReviewStatus = 'open' | 'resolved';
export type MatchResolutionAction = 'link' | 'create' | 'ignore';

export interface MatchReviewsTable {
  id: Generated<string>;
  school_id: string;
  dcid: BigIntColumn;
  student_number: string | null;
  first_name: string;
  last_name: string;
  date_of_birth: DateColumn;
  graduation_year: number | null;
  first_name_key: string;
  last_name_key: string;
  candidate_ids: Generated<string[]>;
  status: Generated<MatchReviewStatus>;
  resolution_action: MatchResolutionAction | null;
  resolution_student_id: string | null;
  run_id: string;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
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
  /** `run` (the run's end) or `held` (its hold): one email per run and kind. */
  kind: Generated<EmailKind>;
  created_at: DefaultedTimestamp;
}

export type EmailKind = 'run' | 'held';

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
  run_match_decisions: RunMatchDecisionsTable;
  match_reviews: MatchReviewsTable;
}

export type Integration = Selectable<IntegrationsTable>;
export type NewIntegration = Insertable<IntegrationsTable>;
export type Run = Selectable<RunsTable>;
export type Student = Selectable<StudentsTable>;
export type MatchReview = Selectable<MatchReviewsTable>;
