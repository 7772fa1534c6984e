// The beginRun and recordExecution activities: the run's row, its run slot and its settings snapshot.
import { getIntegration } from '../db/queries/integrations.js';
import { recordExecution, recordRunStart, recordSkippedRun } from '../db/queries/run-lifecycle.js';
import { parseRunSettings, snapshotSettings, wantsEmail } from '../db/queries/run-settings.js';
import { getRun } from '../db/queries/runs.js';
import { claimRunSlotReleasingAbandoned } from '../services/run-slot.js';
import type { BeginRunInput, BeginRunResult, RecordExecutionInput } from './types.js';
import type { ActivityDeps } from './deps.js';
import { integrationNotFound } from './failures.js';
import { openSecret } from './run-context.js';

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
      countSkipped(deps, newRun);
      return { outcome: 'skipped', code: 'INTEGRATION_INACTIVE', runningRunId: null };
    }

    const claim = await claimRunSlotReleasingAbandoned(db, newRun, {
      temporal: deps.temporalClient,
      log: deps.logger,
      graceMs: deps.abandonedRunGraceMs,
    });
    if (!claim.claimed) {
      await recordSkippedRun(
        db,
        { ...newRun, temporalRunId: input.temporalRunId },
        { code: 'RUN_IN_PROGRESS', message: `another run of this school is in progress (${claim.runningRunId})` },
      );
      countSkipped(deps, newRun);
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
    deps.logger?.info(
      { runId: input.runId, schoolId: input.schoolId, trigger: input.trigger, testRun: run.test_run },
      'run begun',
    );
    return {
      outcome: 'claimed',
      testRun: run.test_run,
      notificationsEnabled: wantsEmail(parseRunSettings(run.settings)),
    };
  };
}

/** A skipped run ends here, without finishRun; a retried beginRun finds it ended and counts nothing. */
function countSkipped(deps: ActivityDeps, run: { trigger: string; testRun: boolean }): void {
  deps.metrics?.runEnded({
    status: 'skipped',
    trigger: run.trigger,
    testRun: run.testRun,
    durationSeconds: null,
    students: {},
  });
}

/** A continued execution of the run's workflow takes over its links (temporal.runId, uiUrl). */
export function makeRecordExecution(deps: ActivityDeps) {
  return async function recordExecutionActivity({ runId, temporalRunId }: RecordExecutionInput): Promise<void> {
    await recordExecution(deps.db, runId, temporalRunId);
  };
}
