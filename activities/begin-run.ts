import { WorkflowNotFoundError } from '@temporalio/client';
import { getIntegration } from '../db/queries/integrations.js';
import {
  getRun,
  recordExecution,
  recordRunStart,
  recordSkippedRun,
  releaseAbandonedRun,
} from '../db/queries/run-lifecycle.js';
import { snapshotSettings } from '../db/queries/run-settings.js';
import { claimRunSlot } from '../db/queries/runs.js';
import type { BeginRunInput, BeginRunResult, RecordExecutionInput } from './types.js';
import type { ActivityDeps } from './deps.js';
import { integrationNotFound } from './failures.js';
import { openSecret } from './run-context.js';

const DEFAULT_GRACE_MS = 60_000;

/**
 * Records the run and takes the school's run slot. Idempotent on the workflow id: the API's
 * "trigger now" has already inserted the row as running (then we just proceed); a scheduled run
 * arrives with no row (we claim). When another live run holds the slot, this run is recorded as
 * `skipped`. A holder whose workflow is gone is released first, so a school is never stuck.
 */
export function makeBeginRun(deps: ActivityDeps) {
  return async function beginRun(input: BeginRunInput): Promise<BeginRunResult> {
    const { db } = deps;
    const integration = await getIntegration(db, input.schoolId);
    const existing = await getRun(db, input.runId);
    if (existing && existing.status !== 'running') return { outcome: 'ended', status: existing.status };
    const testRun = existing?.test_run ?? input.testRun ?? integration?.test_run ?? true;
    const newRun = { id: input.runId, schoolId: input.schoolId, trigger: input.trigger, testRun };

    if (!existing && integration && !integration.active && input.trigger === 'schedule') {
      // A schedule that fired while the school paused its integration (before the schedule was
      // paused too): nothing to do, but the run is recorded so the history shows why.
      await recordSkippedRun(
        db,
        { ...newRun, temporalRunId: input.temporalRunId },
        { code: 'INTEGRATION_INACTIVE', message: 'the integration is paused' },
      );
      return { outcome: 'skipped', code: 'INTEGRATION_INACTIVE', runningRunId: null };
    }

    let claim = await claimRunSlot(db, newRun);
    if (!claim.claimed && (await releaseIfAbandoned(deps, claim.runningRunId, input.runId))) {
      claim = await claimRunSlot(db, newRun);
    }
    if (!claim.claimed) {
      await recordSkippedRun(
        db,
        { ...newRun, temporalRunId: input.temporalRunId },
        { code: 'RUN_IN_PROGRESS', message: `another run of this school is in progress (${claim.runningRunId})` },
      );
      deps.logger?.info(
        { runId: input.runId, schoolId: input.schoolId, runningRunId: claim.runningRunId },
        'run skipped: the school already has a run in progress',
      );
      return { outcome: 'skipped', code: 'RUN_IN_PROGRESS', runningRunId: claim.runningRunId };
    }

    // The slot is ours from here: a failure below ends the run as failed (the workflow's finishRun).
    if (!integration) throw integrationNotFound(input.schoolId);
    // The snapshot first: a run that fails below still knows whom to email about it.
    const run = await recordRunStart(
      db,
      input.runId,
      snapshotSettings(integration, claim.run.test_run),
      input.temporalRunId,
    );
    // Fail now, with a clear code, rather than at the first page.
    openSecret(deps.secretBox, integration.school_id, {
      ciphertext: integration.client_secret_encrypted,
      keyId: integration.client_secret_key_id,
    });
    const settings = run.settings as { notifications?: { enabled?: boolean; recipients?: string[] } } | null;
    deps.logger?.info(
      { runId: input.runId, schoolId: input.schoolId, trigger: input.trigger, testRun: run.test_run },
      'run begun',
    );
    return {
      outcome: 'claimed',
      testRun: run.test_run,
      notificationsEnabled: Boolean(settings?.notifications?.enabled && settings.notifications.recipients?.length),
    };
  };
}

/** A continued execution of the run's workflow takes over its links (temporal.runId, uiUrl). */
export function makeRecordExecution(deps: ActivityDeps) {
  return async function recordExecutionActivity({ runId, temporalRunId }: RecordExecutionInput): Promise<void> {
    await recordExecution(deps.db, runId, temporalRunId);
  };
}

/** Releases the slot holder when its workflow is no longer running; true if it did. */
async function releaseIfAbandoned(deps: ActivityDeps, holderId: string, claimantId: string): Promise<boolean> {
  if (!deps.temporalClient || holderId === claimantId) return false;
  let state: string;
  try {
    const description = await deps.temporalClient.workflow.getHandle(holderId).describe();
    state = description.status.name;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    state = 'NOT_FOUND';
  }
  if (state === 'RUNNING') return false;
  if (state === 'NOT_FOUND') {
    const holder = await getRun(deps.db, holderId);
    // db/types.ts types Generated<Timestamp> loosely; pg returns a Date.
    const age = holder ? Date.now() - holder.started_at.getTime() : Infinity;
    if (age < (deps.abandonedRunGraceMs ?? DEFAULT_GRACE_MS)) return false;
  }
  const status = state === 'CANCELLED' || state === 'TERMINATED' ? 'cancelled' : 'failed';
  const released = await releaseAbandonedRun(
    deps.db,
    holderId,
    status,
    `its workflow is ${state.toLowerCase().replace('_', ' ')}; the run slot was released by ${claimantId}`,
  );
  if (released)
    deps.logger?.warn(
      { runId: holderId, workflowState: state, releasedBy: claimantId },
      'released an abandoned run slot',
    );
  return released;
}
