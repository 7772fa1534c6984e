// Approve or discard a held run: the decideHold Update, answered once the workflow has accepted and recorded it.
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  ServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DECIDE_HOLD_UPDATE, type HoldDecisionInput } from '../workflows/types.js';

/** How long a worker has to accept the decision before the caller answers 503 (the contract's 10 s). */
export const HOLD_DECISION_ACCEPT_MS = 10_000;
/**
 * The caller waits this much longer than the workflow accepts: the workflow refuses a decision it
 * sees after `acceptBy`, so one the caller stopped waiting for can never take effect later.
 */
const ANSWER_MARGIN_MS = 2_000;

/**
 * accepted: the workflow took the decision and recorded it on the run. not_held: the workflow
 * refused it (not waiting, or already decided) or is gone. unavailable: no worker accepted it in time.
 */
export type HoldDecisionOutcome = 'accepted' | 'not_held' | 'unavailable';

export async function decideHold(
  client: Client,
  runId: string,
  decision: Omit<HoldDecisionInput, 'acceptBy'>,
  acceptWithinMs = HOLD_DECISION_ACCEPT_MS,
): Promise<HoldDecisionOutcome> {
  const now = Date.now();
  const input: HoldDecisionInput = { ...decision, acceptBy: new Date(now + acceptWithinMs).toISOString() };
  const handle = client.workflow.getHandle(runId);
  try {
    const update = await client.withDeadline(now + acceptWithinMs + ANSWER_MARGIN_MS, () =>
      handle.startUpdate(DECIDE_HOLD_UPDATE, { args: [input], waitForStage: WorkflowUpdateStage.ACCEPTED }),
    );
    // Accepted: its handler records the decision on the run (one short activity) before answering.
    await update.result();
    return 'accepted';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'not_held';
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || err instanceof ServiceError) return 'unavailable';
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      if (err.cause.type === 'RUN_NOT_HELD') return 'not_held';
      if (err.cause.type === 'TEMPORAL_UNAVAILABLE') return 'unavailable';
    }
    throw err;
  }
}
