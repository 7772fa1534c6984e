// A school's last due scheduled fire and the run it started, if any; missed fires recorded for the metrics.
import type { Client } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { Db } from '../db/connection.js';
import { recordMissedScheduledRun } from '../db/queries/missed-runs.js';
import { getRun } from '../db/queries/runs.js';
import type { Integration } from '../db/types.js';
import { SCHEDULE_JITTER } from '../temporal/schedules.js';
import { workflowState } from '../temporal/workflow-state.js';
import { scheduleIdFor } from '../workflows/types.js';
import { lastNominalFire } from './schedules-calendar.js';
import type { Log } from '../logging/log.js';

/**
 * Temporal records the actions a schedule took, not the fires it skipped (overlap, pause) or missed
 * (server down past the catch-up window), so the last due fire is computed here from the spec and
 * the run it should have started is looked up by the id Temporal gives scheduled workflows:
 * `<schedule id>-<nominal UTC time>`.
 */

export interface LastDue {
  lastDueAt: Date | null;
  lastDueRunId: string | null;
}

/** The workflow id Temporal gives the run a schedule starts for a nominal time (RFC 3339, UTC, whole seconds). */
export function scheduledWorkflowId(schoolId: string, nominal: Date): string {
  return `${scheduleIdFor(schoolId)}-${nominal.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

/** The run the schedule started for a nominal time: null when none started, or it ended skipped. */
async function runStartedFor(
  deps: { db: Db; client: Client },
  schoolId: string,
  nominal: Date,
): Promise<string | null> {
  const id = scheduledWorkflowId(schoolId, nominal);
  const run = await getRun(deps.db, id, { schoolId });
  if (run) return run.status === 'skipped' ? null : id;
  // Started but not recorded yet (its first activity has not run): Temporal knows it.
  const state = await deps.client.connection.withDeadline(Date.now() + 3_000, () => workflowState(deps.client, id));
  return state === 'NOT_FOUND' ? null : id;
}

/** `schedule.lastDueAt` and `lastDueRunId` of an integration; the run id is null when Temporal cannot answer. */
export async function lastDueOf(
  deps: { db: Db; client: Client },
  row: Integration,
  now = new Date(),
): Promise<LastDue> {
  const lastDueAt = lastNominalFire(row.schedule_cron, row.schedule_timezone, row.blackouts, row.created_at, now);
  if (!lastDueAt) return { lastDueAt: null, lastDueRunId: null };
  const lastDueRunId = await runStartedFor(deps, row.school_id, lastDueAt).catch(() => null);
  return { lastDueAt, lastDueRunId };
}

/**
 * How long after its nominal time a fire is judged: the schedule's jitter may start it up to
 * SCHEDULE_JITTER late, and its workflow then needs a moment to be visible.
 */
export const MISSED_RUN_GRACE_MS = msToNumber(SCHEDULE_JITTER) + 5 * 60_000;

/**
 * Judges the school's latest fire due at least MISSED_RUN_GRACE_MS ago: when it started no sync,
 * it is logged (warn) and recorded once (`missed_scheduled_runs`). Only fires of a school that was
 * active and whose settings did not change since are judged, so a deliberate pause is not a miss.
 * The worker's reconcile calls it for every school each pass, so every fire of a weekly schedule is
 * judged; of crons firing more often than the interval, only the latest each pass.
 */
export async function checkMissedRun(
  deps: { db: Db; client: Client; logger: Log },
  row: Integration,
  now = new Date(),
): Promise<boolean> {
  if (!row.active) return false;
  const judged = new Date(now.getTime() - MISSED_RUN_GRACE_MS);
  const nominal = lastNominalFire(row.schedule_cron, row.schedule_timezone, row.blackouts, row.created_at, judged);
  if (!nominal || nominal.getTime() < new Date(row.updated_at).getTime()) return false;
  if ((await runStartedFor(deps, row.school_id, nominal)) !== null) return false;
  if (!(await recordMissedScheduledRun(deps.db, row.school_id, nominal))) return false;
  deps.logger.warn(
    { schoolId: row.school_id, nominalAt: nominal.toISOString() },
    'scheduled sync missed: the fire came due and started no run',
  );
  return true;
}
