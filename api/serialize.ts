// Database rows → the contract's JSON; secrets never pass through here.
import type { Config } from '../config.js';
import type { ChangeRow, IssueRow, StudentRow } from '../db/queries/listings.js';
import type { ReviewWithCandidates } from '../db/queries/match-reviews.js';
import { runCountsOf } from '../db/queries/run-counts.js';
import { holdOf } from '../db/queries/run-hold.js';
import { safetyOf } from '../db/queries/safety-settings.js';
import type { Integration, Run } from '../db/types.js';
import { temporalUiUrl } from '../shared/temporal-ui-url.js';
import type { LastDue } from '../services/schedules-due.js';
import type { ScheduleView } from '../temporal/schedules.js';

/** db/types.ts wraps timestamps in ColumnType; at run time pg gives Date objects. */
const iso = (d: unknown) => (d instanceof Date ? d : new Date(String(d))).toISOString();

export function runSummaryJson(config: Pick<Config, 'temporal'>, run: Run) {
  return {
    id: run.id,
    schoolId: run.school_id,
    trigger: run.trigger,
    testRun: run.test_run,
    status: run.status,
    startedAt: iso(run.started_at),
    finishedAt: run.finished_at ? iso(run.finished_at) : null,
    counts: runCountsOf(run),
    error: run.error_code ? { code: run.error_code, message: run.error_message ?? '' } : null,
    notification: { status: run.notification_status, messageId: run.notification_message_id },
    temporal: {
      workflowId: run.id,
      runId: run.temporal_run_id,
      uiUrl: temporalUiUrl(config.temporal, run.id, run.temporal_run_id),
    },
    hold: holdJson(run),
  };
}

function holdJson(run: Run) {
  const hold = holdOf(run);
  return hold ? { reasons: hold.reasons, heldAt: iso(hold.heldAt), expiresAt: iso(hold.expiresAt) } : null;
}

export function runJson(config: Pick<Config, 'temporal'>, run: Run) {
  return {
    ...runSummaryJson(config, run),
    progress: {
      pagesFetched: run.pages_fetched,
      pagesTotal: run.pages_total,
      recordsFetched: run.records_fetched,
      recordsTotal: run.records_total,
    },
  };
}

export function integrationJson(
  config: Pick<Config, 'temporal'>,
  row: Integration,
  schedule: ScheduleView | null,
  lastRun: Run | undefined,
  due: LastDue,
) {
  return {
    schoolId: row.school_id,
    powerschool: {
      serverUrl: row.server_url,
      clientId: row.client_id,
      clientSecretSet: row.client_secret_encrypted !== '',
      schools: row.powerschool_schools,
    },
    active: row.active,
    testRun: row.test_run,
    notifications: { enabled: row.notifications_enabled, recipients: row.notification_recipients },
    grades: { from: row.grade_from, to: row.grade_to },
    mapping: {
      powerschoolId: row.mapping_powerschool_id,
      dateOfBirth: row.mapping_date_of_birth,
      gender: row.mapping_gender,
      gradeLevel: row.mapping_grade_level,
    },
    matching: { enabled: row.matching_enabled },
    schedule: {
      cron: row.schedule_cron,
      timezone: row.schedule_timezone,
      // The database says whether it is paused; Temporal says when it fires next.
      paused: !row.active,
      nextRunAt: row.active && schedule?.nextRunAt ? iso(schedule.nextRunAt) : null,
      lastDueAt: due.lastDueAt ? iso(due.lastDueAt) : null,
      lastDueRunId: due.lastDueRunId,
      pauseNote: row.active ? null : row.pause_note,
    },
    blackouts: row.blackouts.map((b) => ({ from: b.from, to: b.to })),
    safety: safetyOf(row),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    lastRun: lastRun ? runSummaryJson(config, lastRun) : null,
  };
}

export type PowerSchoolIdSource = 'DCID' | 'STUDENT_NUMBER';

/** The "PowerSchool ID" shown for a student: the chosen mapping applied to the stored values. */
export function powerschoolIdOf(
  mapping: PowerSchoolIdSource,
  dcid: string | null,
  studentNumber: string | null,
): string | null {
  return mapping === 'STUDENT_NUMBER' ? studentNumber : dcid;
}

export function studentJson(row: StudentRow, mapping: PowerSchoolIdSource) {
  return {
    id: row.id,
    schoolId: row.school_id,
    powerschoolId: powerschoolIdOf(mapping, row.dcid, row.student_number),
    dcid: row.dcid,
    studentNumber: row.student_number,
    firstName: row.first_name,
    lastName: row.last_name,
    graduationYear: row.graduation_year,
    dateOfBirth: row.date_of_birth,
    gender: row.gender,
    gradeLevel: row.grade_level,
    schoolNumber: row.school_number,
    status: row.status,
    departedAt: row.departed_at ? iso(row.departed_at) : null,
    departureReason: row.departure_reason,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    lastSeenRunId: row.last_seen_run_id,
    externalId: row.external_id,
  };
}

export function changeJson(row: ChangeRow, mapping: PowerSchoolIdSource) {
  return {
    powerschoolId: powerschoolIdOf(mapping, row.dcid, row.student_number),
    type: row.type,
    before: row.before,
    after: row.after,
  };
}

export function issueJson(row: IssueRow) {
  return {
    dcid: row.dcid,
    powerschoolId: row.powerschool_id,
    field: row.field,
    code: row.code,
    message: row.message,
    skipped: row.skipped,
  };
}

export function matchReviewJson(row: ReviewWithCandidates, mapping: PowerSchoolIdSource) {
  return {
    id: row.id,
    dcid: row.dcid,
    powerschoolId: powerschoolIdOf(mapping, row.dcid, row.student_number),
    record: {
      firstName: row.first_name,
      lastName: row.last_name,
      dateOfBirth: row.date_of_birth,
      graduationYear: row.graduation_year,
    },
    candidates: row.candidates.map((s) => studentJson(s, mapping)),
    status: row.status,
    resolution: row.resolution_action ? { action: row.resolution_action, studentId: row.resolution_student_id } : null,
    runId: row.run_id,
    createdAt: iso(row.created_at),
  };
}
