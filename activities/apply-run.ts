// The applyRun and previewRun activities: the run's diff, committed (or held) or only recorded.
import type { Transaction } from 'kysely';
import type { Db } from '../db/connection.js';
import { diffRun } from '../db/queries/run-diff.js';
import { newlySyncedFields } from './newly-synced.js';
import { countActiveStudents, countHoldChanges, holdOf, markRunHeld } from '../db/queries/run-hold.js';
import type { SafetySettings } from '../db/queries/safety-settings.js';
import { getRun } from '../db/queries/runs.js';
import type { Database } from '../db/types.js';
import { holdReasons } from '../services/safety-hold.js';
import { cancellable } from './cancellation.js';
import type { ActivityDeps } from './deps.js';
import { adaptFailures } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { loadRunContext, scopeOf, writeOptionsOf } from './run-context.js';
import type { CommitInput, CommitResult } from './types.js';

/** A real day: what `safety.holdDays` counts in, except in tests (CommitInput.holdDayMs). */
export const DAY_MS = 86_400_000;

/**
 * applyRun (commit) and previewRun (test run): the set-based diff of the staged rows against the
 * school's students (db/queries/run-diff.ts). Both are idempotent under retry.
 *
 * A commit whose departures or updates cross the school's safety thresholds is held instead: its
 * changes stay recorded, nothing is written, the run is `held`, and the result says so.
 *
 * A cancelled (or timed-out) activity rolls its transaction back in PostgreSQL and reports the
 * cancellation; a commit that had already gone through is reported as done, with its counts, so
 * the workflow records the run as succeeded.
 */
export function makeApplyRun(deps: ActivityDeps, mode: 'commit' | 'preview') {
  return async function applyOrPreview({ runId, holdDayMs }: CommitInput): Promise<CommitResult> {
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const ctx = await loadRunContext(deps.db, runId);
        const { run, settings } = ctx;
        const counts = await cancellable(async (signal) =>
          diffRun(deps.db, {
            ...writeOptionsOf(ctx),
            newlySynced: await newlySyncedFields(deps.db, run, settings),
            scope: scopeOf(settings),
            mode,
            signal,
            ...(settings.safety.enabled
              ? { holdCheck: holdIfOverThresholds(runId, run.school_id, settings.safety, holdDayMs ?? DAY_MS) }
              : {}),
          }),
        );
        const hold = mode === 'commit' ? await heldCommit(deps.db, runId) : null;
        if (hold) {
          deps.logger?.info(
            { runId, schoolId: run.school_id, reasons: hold.reasons.map((r) => r.code), ...counts },
            'commit held for approval',
          );
          return { ...counts, held: hold };
        }
        deps.logger?.info({ runId, schoolId: run.school_id, mode, ...counts }, 'run diff recorded');
        return counts;
      }),
    );
  };
}

/**
 * The hold decision, inside the diff's transaction between recording and writing. The base is
 * counted only when something could cross a threshold, so a quiet commit adds no pass over the
 * school's students.
 */
function holdIfOverThresholds(runId: string, schoolId: string, safety: SafetySettings, dayMs: number) {
  return async (tx: Transaction<Database>): Promise<boolean> => {
    const changes = await countHoldChanges(tx, { runId, schoolId });
    if (!changes || (changes.departed === 0 && changes.updates === 0)) return false;
    const base = await countActiveStudents(tx, schoolId);
    const reasons = holdReasons({ base, ...changes }, safety);
    if (reasons.length === 0) return false;
    await markRunHeld(tx, runId, reasons, safety.holdDays * dayMs);
    return true;
  };
}

async function heldCommit(db: Db, runId: string): Promise<CommitResult['held'] | null> {
  const run = await getRun(db, runId);
  const hold = run?.status === 'held' ? holdOf(run) : null;
  return hold ? { reasons: hold.reasons, expiresAt: hold.expiresAt.toISOString() } : null;
}
