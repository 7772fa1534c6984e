// The activities' inputs, results and signatures: the one types module the workflow imports.
import type { RunCounts } from '../db/queries/run-counts.js';
import type { HoldReason, RunTrigger } from '../db/types.js';

export type { HoldReason, RunCounts };
/** What started a run: its schedule, or the API's "trigger now". */
export type SyncTrigger = RunTrigger;

/**
 * The activities' inputs and results: everything here is written to Temporal history, so ids,
 * flags, counts and cursors only — never a secret, never student data.
 */

export interface BeginRunInput {
  /** The runs row id: the workflow id. */
  runId: string;
  temporalRunId: string;
  schoolId: string;
  trigger: SyncTrigger;
  testRun?: boolean;
}

export type BeginRunResult =
  | { outcome: 'claimed'; testRun: boolean; notificationsEnabled: boolean }
  | { outcome: 'skipped'; code: 'RUN_IN_PROGRESS' | 'INTEGRATION_INACTIVE'; runningRunId: string | null }
  /** The run row already ended (a reset or replayed start): nothing left to do. */
  | { outcome: 'ended'; status: string };

export interface RunRef {
  runId: string;
}

export interface RecordExecutionInput {
  runId: string;
  /** The Temporal run id of the execution now carrying the run. */
  temporalRunId: string;
}

export interface PlanRunResult {
  pageSize: number;
  pagesTotal: number;
  recordsTotal: number;
  /** Keyset passes the read takes: one per selected school (1 when the school selects none). */
  passes?: number;
}

export interface FetchPageInput {
  runId: string;
  /** 1-based count of pages read so far, for progress (the position is `afterDcid`). */
  page: number;
  pageSize: number;
  /**
   * Keyset cursor: read the in-scope students with a DCID above this one (null: from the start).
   * Students added or removed behind the cursor during the run cannot shift later pages.
   */
  afterDcid?: string | null;
  /** The school pass `afterDcid` belongs to (index into the selected schools; default 0). */
  pass?: number;
  /**
   * Read up to this many pages in this one activity (default 1), reading each next page while the
   * current one is staged. Each staged page is heartbeated as the resume point of a retry.
   */
  maxPages?: number;
  /** Stop starting new pages after this long (default 10 s), so heartbeats and history stay lively. */
  budgetMs?: number;
}

export interface FetchPageResult {
  page: number;
  /** Rows PowerSchool returned on this page. */
  received: number;
  /** Rows staged (valid); `received - staged` were skipped as invalid. */
  staged: number;
  skipped: number;
  /** Next page to read, or null when this page was the last (short or empty). */
  nextPage: number | null;
  /** The cursor for the next page: the highest DCID on this one (null: the next school's pass starts). */
  lastDcid: string | null;
  /** The school pass of the next page (absent from older workers: 0). */
  pass?: number;
  /** Pages read by this activity (its last one is `page`). */
  pagesRead: number;
  /** The run's totals so far, computed from the staging tables (exact under retries). */
  pagesFetched: number;
  recordsFetched: number;
}

export interface LookupDeparturesResult {
  /** Students whose ranges a pass read in this call. */
  lookedUp: number;
  /** Students still to ask about: call again until 0. */
  remaining: number;
}

export interface FinishRunInput {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: { code: string; message: string };
}

export interface FinishRunResult {
  status: string;
  /** True when notifications are enabled for this run and no email went out yet. */
  notify: boolean;
  /**
   * Set when the run was to end failed or cancelled but is recorded `succeeded` (its commit had
   * landed, or it had finished before the cancel reached it): the counts it succeeded with.
   */
  succeededWith?: RunCounts;
}

export interface NotifyResult {
  status: 'sent' | 'disabled';
  messageId: string | null;
}

export interface CommitInput extends RunRef {
  /** The length of a hold day in ms (tests only; default a real day): see SyncStudentsOptions. */
  holdDayMs?: number;
}

/** A commit's counts; `held` when it crossed a safety threshold and waits, unwritten, for a person. */
export type CommitResult = RunCounts & { held?: HeldCommit };

export interface HeldCommit {
  reasons: HoldReason[];
  /** ISO time at which the held run is discarded unless decided. */
  expiresAt: string;
}

export interface DiscardHeldRunInput extends RunRef {
  /** What discarded it (HOLD_EXPIRED, INTEGRATION_DELETED); absent: a person did. */
  error?: { code: string; message: string };
}

export interface DiscardHeldRunResult {
  /** True when notifications are enabled for this run and its end email is due. */
  notify: boolean;
}

export interface NotificationFailedInput {
  runId: string;
  message: string;
}

/** The activities the syncStudents workflow calls, as createActivities(deps) builds them. */
export interface SyncActivities {
  beginRun(input: BeginRunInput): Promise<BeginRunResult>;
  recordExecution(input: RecordExecutionInput): Promise<void>;
  planRun(input: RunRef): Promise<PlanRunResult>;
  fetchPage(input: FetchPageInput): Promise<FetchPageResult>;
  lookupDepartures(input: RunRef): Promise<LookupDeparturesResult>;
  /** Commit: records the diff, then holds it (nothing written) or writes it. */
  applyRun(input: CommitInput): Promise<CommitResult>;
  previewRun(input: RunRef): Promise<RunCounts>;
  finishRun(input: FinishRunInput): Promise<FinishRunResult>;
  notify(input: RunRef): Promise<NotifyResult>;
  markNotificationFailed(input: NotificationFailedInput): Promise<void>;
  /** The hold email (once per run). */
  notifyHold(input: RunRef): Promise<NotifyResult>;
  /** Approved: the held run is `running` again. */
  resumeHeldRun(input: RunRef): Promise<void>;
  /** Approved and resumed: writes exactly the recorded changes, or fails HOLD_STALE writing nothing. */
  applyHeldRun(input: RunRef): Promise<RunCounts>;
  /** Discarded (by a person, expiry or deletion): ends the held run `discarded`, nothing written. */
  discardHeldRun(input: DiscardHeldRunInput): Promise<DiscardHeldRunResult>;
}
