import { diffRun } from '../db/queries/run-diff.js';
import type { RunCounts } from '../workflows/types.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';
import { loadRunContext } from './run-context.js';
import type { RunRef } from './types.js';

/**
 * applyRun (commit) and previewRun (test run): the set-based diff of the staged rows against the
 * school's students (db/queries/run-diff.ts). Both are idempotent under retry.
 */
export function makeApplyRun(deps: ActivityDeps, mode: 'commit' | 'preview') {
  return async function applyOrPreview({ runId }: RunRef): Promise<RunCounts> {
    return withHeartbeat(async () => {
      const { run, settings } = await loadRunContext(deps.db, runId);
      const counts = await diffRun(deps.db, {
        runId,
        schoolId: run.school_id,
        syncDateOfBirth: settings.mapping.dateOfBirth,
        syncGender: settings.mapping.gender,
        mode,
      });
      deps.logger?.info({ runId, schoolId: run.school_id, mode, ...counts }, 'run diff recorded');
      return counts;
    });
  };
}
