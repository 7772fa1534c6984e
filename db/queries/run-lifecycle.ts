// A run's row as it moves along: start, execution, end, notification, and the release of a dead run's slot.
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { Run, RunStatus } from '../types.js';
import type { RunSettings } from './run-settings.js';
import { getRun } from './runs.js';

/** Transitions of one run's row, as the API and the sync activities move it along. */

/**
 * Stores the settings snapshot once (the first attempt of beginRun wins) and the Temporal run id
 * of the execution that began the run.
 */
export async function recordRunStart(
  db: Db,
  runId: string,
  settings: RunSettings,
  temporalRunId: string,
): Promise<Run> {
  return db
    .updateTable('runs')
    .set({
      settings: sql<string>`coalesce(settings, ${JSON.stringify(settings)}::jsonb)`,
      temporal_run_id: temporalRunId,
    })
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Records the first execution of a run the API has just started, unless its workflow's beginRun
 * got there first (it writes the same value, or a later execution's after continue-as-new).
 */
export async function recordFirstExecution(db: Db, runId: string, temporalRunId: string): Promise<void> {
  await db
    .updateTable('runs')
    .set({ temporal_run_id: temporalRunId })
    .where('id', '=', runId)
    .where('temporal_run_id', 'is', null)
    .execute();
}

/**
 * Points the run at the Temporal execution now carrying it (after continue-as-new), so its
 * `temporal.runId` and `uiUrl` open the execution that holds its progress and outcome.
 */
export async function recordExecution(db: Db, runId: string, temporalRunId: string): Promise<void> {
  await db.updateTable('runs').set({ temporal_run_id: temporalRunId }).where('id', '=', runId).execute();
}

/**
 * Records a run that never ran (another run held the slot, or the integration is paused). The row
 * is written directly as ended, so it never takes the slot. Idempotent on the run id.
 */
export async function recordSkippedRun(
  db: Db,
  run: { id: string; schoolId: string; trigger: Run['trigger']; testRun: boolean; temporalRunId: string },
  reason: { code: string; message: string },
): Promise<void> {
  await db
    .insertInto('runs')
    .values({
      id: run.id,
      school_id: run.schoolId,
      trigger: run.trigger,
      test_run: run.testRun,
      temporal_run_id: run.temporalRunId,
      status: 'skipped',
      finished_at: sql<Date>`now()`,
      error_code: reason.code,
      error_message: reason.message,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/**
 * A commit that landed wins over whatever ended the run after it (a cancel that reached the
 * workflow after the transaction committed, a failure in a later step): students were written,
 * so the run is `succeeded`, never `cancelled` or `failed` with its students in place. The
 * UPDATE waits on the diff's lock on the run row, so it sees the diff's outcome.
 */
const committed = sql<boolean>`(applied_at is not null and not test_run)`;

function endedStatus(status: Exclude<RunStatus, 'running'>) {
  return sql<RunStatus>`case when ${committed} then 'succeeded' else ${status} end`;
}

function unlessCommitted(value: string | null) {
  return sql<string | null>`case when ${committed} then null else ${value} end`;
}

/**
 * Ends a run that is still running or held: status, error and end time (a run whose commit landed
 * ends `succeeded`, see `committed`). Returns the row as it now is.
 */
export async function endRun(
  db: Db,
  runId: string,
  status: Exclude<RunStatus, 'running'>,
  error: { code: string; message: string } | null,
  notificationStatus: 'disabled' | 'pending',
): Promise<Run | undefined> {
  await db
    .updateTable('runs')
    .set({
      status: endedStatus(status),
      finished_at: sql<Date>`now()`,
      error_code: unlessCommitted(error?.code ?? null),
      error_message: unlessCommitted(error?.message ?? null),
      notification_status: notificationStatus,
    })
    .where('id', '=', runId)
    .where('status', 'in', ['running', 'held'])
    .execute();
  return getRun(db, runId);
}

/** Staged rows are only needed until the run ends; the changes and issues stay as its record. */
export async function clearStaging(db: Db, runId: string): Promise<void> {
  await db.deleteFrom('staged_students').where('run_id', '=', runId).execute();
}

export async function setNotification(
  db: Db,
  runId: string,
  status: 'disabled' | 'sent' | 'failed',
  messageId: string | null,
): Promise<void> {
  await db
    .updateTable('runs')
    .set({ notification_status: status, notification_message_id: messageId })
    .where('id', '=', runId)
    .execute();
}

/**
 * Frees the school's run slot held by a run whose workflow is gone (terminated behind our back,
 * or never started), so the school can never be stuck. Only a still-`running` or `held` row changes.
 */
export async function releaseAbandonedRun(
  db: Db,
  runId: string,
  status: 'cancelled' | 'failed',
  message: string,
): Promise<boolean> {
  const released = await db
    .updateTable('runs')
    .set({
      status: endedStatus(status),
      finished_at: sql<Date>`now()`,
      error_code: unlessCommitted('RUN_ABANDONED'),
      error_message: unlessCommitted(message),
    })
    .where('id', '=', runId)
    .where('status', 'in', ['running', 'held'])
    .executeTakeFirst();
  await clearStaging(db, runId);
  return Number(released.numUpdatedRows) > 0;
}
