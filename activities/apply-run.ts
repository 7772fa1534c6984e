// The applyRun and previewRun activities: the run's diff, committed or only recorded.
import { diffRun } from '../db/queries/run-diff.js';
import type { RunCounts } from '../db/queries/run-counts.js';
import { activitySignal } from './cancellation.js';
import type { ActivityDeps } from './deps.js';
import { adaptFailures } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { loadRunContext } from './run-context.js';
import type { RunRef } from './types.js';

/**
 * applyRun (commit) and previewRun (test run): the set-based diff of the staged rows against the
 * school's students (db/queries/run-diff.ts). Both are idempotent under retry.
 *
 * A cancelled (or timed-out) activity rolls its transaction back in PostgreSQL and reports the
 * cancellation; a commit that had already gone through is reported as done, with its counts, so
 * the workflow records the run as succeeded.
 */
export function makeApplyRun(deps: ActivityDeps, mode: 'commit' | 'preview') {
  return async function applyOrPreview({ runId }: RunRef): Promise<RunCounts> {
    const signal = activitySignal();
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const { run, settings } = await loadRunContext(deps.db, runId);
        let counts: RunCounts;
        try {
          counts = await diffRun(deps.db, {
            runId,
            schoolId: run.school_id,
            syncDateOfBirth: settings.mapping.dateOfBirth,
            syncGender: settings.mapping.gender,
            matching: settings.matching.enabled,
            powerschoolIdMapping: settings.mapping.powerschoolId,
            mode,
            ...(signal ? { signal } : {}),
          });
        } catch (err) {
          // PostgreSQL's "canceling statement due to user request" is our own cancel: report
          // it as the activity's cancellation, which Temporal records as such.
          if (signal?.aborted) throw signal.reason;
          throw err;
        }
        deps.logger?.info({ runId, schoolId: run.school_id, mode, ...counts }, 'run diff recorded');
        return counts;
      }),
    );
  };
}
