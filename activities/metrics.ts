import type { Run } from '../db/types.js';
import type { PowerSchoolRequestOutcome } from '../powerschool/request-outcome.js';

/**
 * What the activities tell the worker's metrics (worker/metrics.ts implements it on the Temporal
 * SDK's meter). Labels are small fixed sets: never a school id, a run id or student data.
 */
export interface SyncMetrics {
  /** A run reached its final status (counted once, by the call that ended it). */
  runEnded(run: EndedRun): void;
  powerSchoolRequest(outcome: PowerSchoolRequestOutcome): void;
}

export interface EndedRun {
  status: string;
  trigger: string;
  testRun: boolean;
  /** From start to end; null when either time is unknown. */
  durationSeconds: number | null;
  /** Students written by a committed run, by change type (empty for test runs and failures). */
  students: Partial<Record<'create' | 'update' | 'link' | 'depart', number>>;
}

/** The metric view of a runs row that has just ended. */
export function endedRun(run: Run): EndedRun {
  const started = new Date(run.started_at).getTime();
  const finished = run.finished_at ? new Date(run.finished_at).getTime() : NaN;
  const committed = run.status === 'succeeded' && !run.test_run;
  return {
    status: run.status,
    trigger: run.trigger,
    testRun: run.test_run,
    durationSeconds:
      Number.isFinite(started) && Number.isFinite(finished) ? Math.max(0, finished - started) / 1000 : null,
    students: committed
      ? { create: run.count_created, update: run.count_updated, link: run.count_linked, depart: run.count_departed }
      : {},
  };
}
