// The shapes and names that cross the Temporal boundary, shared by the workflow, the API and temporal/.
import type { RunCounts, SyncTrigger } from '../activities/types.js';

export type { RunCounts, SyncTrigger };

/**
 * What crosses the Temporal boundary: ids, flags, counts and cursors only. Never a secret, never
 * student data (it would be stored, unencrypted, in workflow history).
 */

export const SYNC_WORKFLOW_TYPE = 'syncStudents';

/**
 * The run timeout every start of syncStudents sets (the API's "trigger now" and each school's
 * schedule): the longest a run may wait on a safety hold (30 days) plus a day. A run that is not
 * held ends long before, within its activities' own timeouts and retry limits; this is the
 * backstop that ends any execution that is stuck for good. Continue-as-new carries it over.
 */
export const SYNC_WORKFLOW_RUN_TIMEOUT = '31 days';

export interface SyncStudentsInput {
  schoolId: string;
  trigger: SyncTrigger;
  /** Overrides the integration's testRun setting for this run ("Save & Trigger Now"). */
  testRun?: boolean;
}

export interface SyncProgress {
  pagesFetched: number;
  pagesTotal: number | null;
  recordsFetched: number;
  recordsTotal: number | null;
}

/** The name of the workflow query that returns SyncProgress. */
export const PROGRESS_QUERY = 'progress';

/** One schedule per school. Scheduled runs get the id `<this>-<UTC time>` from Temporal. */
export function scheduleIdFor(schoolId: string): string {
  return `powerschool-sync-${schoolId}`;
}

/** Manual runs: sortable by time, unique per request. */
export function manualWorkflowIdFor(schoolId: string, at: Date, nonce: string): string {
  return `powerschool-sync-${schoolId}-manual-${at.toISOString().replace(/[:.]/g, '')}-${nonce}`;
}

/**
 * Where a long run picks up after continue-as-new (history stays O(pages) per execution).
 * Internal to the workflow: callers never pass it.
 */
export interface SyncContinuation {
  /** The runs row (= the workflow id). */
  runId: string;
  testRun: boolean;
  notificationsEnabled: boolean;
  pageSize: number;
  nextPage: number;
  /** Keyset cursor: the highest DCID read so far (null before the first page). */
  afterDcid: string | null;
  /** The school pass the cursor belongs to (absent in continuations of older executions: 0). */
  pass?: number;
  /** Guard against a server that never returns a short page. */
  maxPage: number;
  progress: SyncProgress;
}

export interface SyncStudentsOptions {
  /** Continue-as-new after this many pages in one execution (also when Temporal suggests it). */
  pagesPerExecution?: number;
  /** Pages one fetchPage activity may read (default 25; it also stops after ~10 s). */
  pagesPerActivity?: number;
  /**
   * The length of a day of `safety.holdDays`, in ms (default a real day). Tests only: a hold
   * expiry cannot wait days, and the time-skipping test server cannot be had offline. Neither the
   * API nor a schedule ever sets it, and no environment variable reaches it.
   */
  holdDayMs?: number;
}

/** The Update that approves or discards a held run (validated: refused unless the run waits). */
export const DECIDE_HOLD_UPDATE = 'decideHold';

export interface HoldDecisionInput {
  decision: 'approve' | 'discard';
  /**
   * ISO time after which the workflow refuses the request as TEMPORAL_UNAVAILABLE: a caller that
   * gave up waiting (no worker took it up) has answered 503, so it must not take effect later.
   */
  acceptBy: string;
  /** A discard by the service itself (the integration was deleted); absent: a person decided. */
  code?: 'INTEGRATION_DELETED';
}

/** SyncStudentsInput as the workflow itself receives it, including its own continuation. */
export interface SyncStudentsWorkflowInput extends SyncStudentsInput {
  continuation?: SyncContinuation;
  options?: SyncStudentsOptions;
}

export type SyncOutcome = 'succeeded' | 'skipped' | 'discarded';

/** The workflow's result (a failed or cancelled run ends the workflow with a failure instead). */
export interface SyncStudentsResult {
  runId: string;
  status: SyncOutcome;
  testRun: boolean | null;
  counts: RunCounts | null;
  /** For a skipped run: why (RUN_IN_PROGRESS, INTEGRATION_INACTIVE) and, if known, the run that held the slot. */
  skipped?: { code: string; runningRunId: string | null };
  notification: 'disabled' | 'sent' | 'failed';
}

/** What the progress query answers: SyncProgress plus the step the run is in. */
export type SyncPhase =
  'starting' | 'planning' | 'fetching' | 'looking-up' | 'applying' | 'held' | 'finishing' | 'notifying' | 'done';
