// The held commit's activities: its email, its approval (resume, then apply what was recorded) and its discard.
import { ApplicationFailure } from '@temporalio/common';
import { applyHeldChanges, discardHeldRun, holdOf, resumeHeldRun } from '../db/queries/run-hold.js';
import { clearStaging } from '../db/queries/run-lifecycle.js';
import type { RunCounts } from '../db/queries/run-counts.js';
import { parseRunSettings, wantsEmail } from '../db/queries/run-settings.js';
import { getRun } from '../db/queries/runs.js';
import { composeHoldEmail } from '../email/compose-hold.js';
import { cancellable } from './cancellation.js';
import type { ActivityDeps } from './deps.js';
import { adaptFailures } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { endedRun } from './metrics.js';
import { loadRunContext, writeOptionsOf } from './run-context.js';
import type { DiscardHeldRunInput, DiscardHeldRunResult, NotifyResult, RunRef } from './types.js';

/** The hold email, once per run (its own idempotency key beside the run's end email). */
export function makeNotifyHold(deps: ActivityDeps) {
  return async function notifyHold({ runId }: RunRef): Promise<NotifyResult> {
    const run = await getRun(deps.db, runId);
    const hold = run ? holdOf(run) : null;
    const settings = parseRunSettings(run?.settings);
    if (!run || !hold || !wantsEmail(settings)) return { status: 'disabled', messageId: null };
    const email = composeHoldEmail({ run, reasons: hold.reasons, expiresAt: hold.expiresAt });
    const messageId = await adaptFailures(() =>
      deps.emailSender.send(
        { ...email, from: deps.config.email.from, to: settings!.notifications.recipients },
        { runId, schoolId: run.school_id, kind: 'held' },
      ),
    );
    deps.logger?.info({ runId, schoolId: run.school_id, via: deps.emailSender.kind }, 'hold notification sent');
    return { status: 'sent', messageId };
  };
}

/** Approved: back to `running` (the run keeps its slot) before the recorded changes are applied. */
export function makeResumeHeldRun(deps: ActivityDeps) {
  return async function resumeHeldRunActivity({ runId }: RunRef): Promise<void> {
    const run = await resumeHeldRun(deps.db, runId);
    deps.logger?.info({ runId, schoolId: run?.school_id, status: run?.status }, 'held run approved');
  };
}

/**
 * Writes exactly the changes the hold recorded (never a new read of PowerSchool). When any of them
 * no longer matches the stored student, nothing is written and the run fails HOLD_STALE.
 */
export function makeApplyHeldRun(deps: ActivityDeps) {
  return async function applyHeldRun({ runId }: RunRef): Promise<RunCounts> {
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const ctx = await loadRunContext(deps.db, runId);
        const { run } = ctx;
        const result = await cancellable((signal) => applyHeldChanges(deps.db, { ...writeOptionsOf(ctx), signal }));
        if (result.outcome === 'stale') {
          deps.logger?.warn({ runId, schoolId: run.school_id, staleChanges: result.staleChanges }, 'held run stale');
          throw ApplicationFailure.nonRetryable(
            `${result.staleChanges} of the recorded changes no longer match the stored students (they changed after the hold); nothing was written`,
            'HOLD_STALE',
          );
        }
        deps.logger?.info({ runId, schoolId: run.school_id, ...result.counts }, 'held run applied');
        return result.counts;
      }),
    );
  };
}

/** Ends a held run `discarded`: nothing written; the end email becomes due when the school wants emails. */
export function makeDiscardHeldRun(deps: ActivityDeps) {
  return async function discardHeldRunActivity({ runId, error }: DiscardHeldRunInput): Promise<DiscardHeldRunResult> {
    const settings = parseRunSettings((await getRun(deps.db, runId))?.settings);
    const { run, ended } = await discardHeldRun(
      deps.db,
      runId,
      error ?? null,
      wantsEmail(settings) ? 'pending' : 'disabled',
    );
    await clearStaging(deps.db, runId);
    if (ended && run) deps.metrics?.runEnded(endedRun(run));
    deps.logger?.info({ runId, schoolId: run?.school_id, errorCode: error?.code }, 'held run discarded');
    return { notify: run?.status === 'discarded' && run.notification_status === 'pending' };
  };
}
