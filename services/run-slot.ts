// The school's run slot: claim it, first releasing a slot held by a run whose workflow is gone.
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { releaseAbandonedRun } from '../db/queries/run-lifecycle.js';
import { claimRunSlot, getRun, type ClaimResult, type NewRun } from '../db/queries/runs.js';
import { workflowState } from '../temporal/workflow-state.js';

/**
 * A run whose row was just claimed may not have its workflow yet (the API claims, then starts):
 * only a holder older than this, with no workflow at all, counts as abandoned.
 */
export const ABANDONED_RUN_GRACE_MS = 60_000;

export interface RunSlotOptions {
  /** Without a client nothing is released: a held slot always means another run is in progress. */
  temporal?: Client;
  log?: { warn(obj: object, msg: string): void };
  /** Tests shorten it; everything else uses ABANDONED_RUN_GRACE_MS. */
  graceMs?: number;
}

/**
 * Claims the school's run slot (db/queries/runs.ts). If another run holds it but that run's
 * workflow is no longer running (terminated, timed out, failed before recording its end), the
 * slot is released first, so a school can never be stuck behind a dead run. The API's "trigger
 * now" and the worker's beginRun both claim through here.
 */
export async function claimRunSlotReleasingAbandoned(
  db: Db,
  run: NewRun,
  options: RunSlotOptions = {},
): Promise<ClaimResult> {
  const claim = await claimRunSlot(db, run);
  if (claim.claimed || !options.temporal) return claim;
  const released = await releaseIfAbandoned(db, options.temporal, claim.runningRunId, run.id, options);
  return released ? claimRunSlot(db, run) : claim;
}

/** Releases the slot holder when its workflow is no longer running; true if it did. */
async function releaseIfAbandoned(
  db: Db,
  temporal: Client,
  holderId: string,
  claimantId: string,
  options: RunSlotOptions,
): Promise<boolean> {
  if (holderId === claimantId) return false;
  const state = await workflowState(temporal, holderId);
  if (state === 'RUNNING') return false;
  if (state === 'NOT_FOUND') {
    const holder = await getRun(db, holderId);
    const age = holder ? Date.now() - holder.started_at.getTime() : Infinity;
    if (age < (options.graceMs ?? ABANDONED_RUN_GRACE_MS)) return false;
  }
  const status = state === 'CANCELLED' || state === 'TERMINATED' ? 'cancelled' : 'failed';
  const message = `its workflow is ${state.toLowerCase().replace('_', ' ')}; the run slot was released by ${claimantId}`;
  const released = await releaseAbandonedRun(db, holderId, status, message);
  if (released) {
    options.log?.warn(
      { runId: holderId, workflowState: state, releasedBy: claimantId },
      'released an abandoned run slot',
    );
  }
  return released;
}
