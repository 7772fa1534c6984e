import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { getRun, releaseAbandonedRun } from '../db/queries/run-lifecycle.js';
import { claimRunSlot, type ClaimResult, type NewRun } from '../db/queries/runs.js';

/**
 * A run whose row was just claimed may not have its workflow yet (the API claims, then starts):
 * only a holder older than this, with no workflow at all, counts as abandoned.
 */
const MISSING_WORKFLOW_GRACE_MS = 60_000;

/**
 * Claims the school's run slot; if another run holds it but that run's workflow is no longer
 * running (terminated, timed out, failed before recording its end), releases the slot first, the
 * same way the worker's beginRun does, so a school can never be stuck behind a dead run.
 */
export async function claimRunSlotReleasingAbandoned(
  db: Db,
  temporal: Client,
  run: NewRun,
  log: { warn(obj: object, msg?: string): void },
): Promise<ClaimResult> {
  const claim = await claimRunSlot(db, run);
  if (claim.claimed) return claim;
  let state: string;
  try {
    state = (await temporal.workflow.getHandle(claim.runningRunId).describe()).status.name;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    state = 'NOT_FOUND';
  }
  if (state === 'RUNNING') return claim;
  if (state === 'NOT_FOUND') {
    const holder = await getRun(db, claim.runningRunId);
    const started = holder ? holder.started_at.getTime() : 0;
    if (Date.now() - started < MISSING_WORKFLOW_GRACE_MS) return claim;
  }
  const status = state === 'CANCELLED' || state === 'TERMINATED' ? 'cancelled' : 'failed';
  const message = `its workflow is ${state.toLowerCase().replace('_', ' ')}; the run slot was released by ${run.id}`;
  if (await releaseAbandonedRun(db, claim.runningRunId, status, message)) {
    log.warn({ runId: claim.runningRunId, workflowState: state, releasedBy: run.id }, 'released an abandoned run slot');
  }
  return claimRunSlot(db, run);
}
