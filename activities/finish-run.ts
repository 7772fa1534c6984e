// The finishRun activity: the run's final status, error and counts, and whether an email is due.
import { clearStaging, endRun } from '../db/queries/run-lifecycle.js';
import { runCountsOf } from '../db/queries/run-counts.js';
import { wantsEmail } from '../db/queries/run-settings.js';
import { getRun, getRunSettings } from '../db/queries/runs.js';
import type { ActivityDeps } from './deps.js';
import { endedRun } from './metrics.js';
import type { FinishRunInput, FinishRunResult } from './types.js';

/**
 * Ends the run: final status, error, end time; the notification becomes `pending` when the school
 * wants emails (so the status is final before the email goes out). Clears staging. Idempotent:
 * a run that already ended keeps its status. A run whose commit landed ends `succeeded` whatever
 * status was asked for (db/queries/run-lifecycle.ts).
 */
export function makeFinishRun(deps: ActivityDeps) {
  return async function finishRun({ runId, status, error }: FinishRunInput): Promise<FinishRunResult> {
    // Counted only by the call that ends the run: a retried finishRun finds it ended already.
    const before = (await getRun(deps.db, runId))?.status;
    const wasRunning = before === 'running' || before === 'held';
    const settings = await getRunSettings(deps.db, runId);
    const run = await endRun(deps.db, runId, status, error ?? null, wantsEmail(settings) ? 'pending' : 'disabled');
    await clearStaging(deps.db, runId);
    if (!run) return { status: 'unknown', notify: false };
    if (wasRunning && run.status !== 'running') deps.metrics?.runEnded(endedRun(run));
    deps.logger?.info(
      { runId, schoolId: run.school_id, status: run.status, errorCode: run.error_code ?? undefined },
      'run finished',
    );
    const result: FinishRunResult = { status: run.status, notify: run.notification_status === 'pending' };
    // Asked to end a run that succeeded after all: the workflow reports it so, with its counts.
    if (run.status === 'succeeded' && status !== 'succeeded') result.succeededWith = runCountsOf(run);
    return result;
  };
}
