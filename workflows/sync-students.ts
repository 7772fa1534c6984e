// The syncStudents workflow: one run of one school, from beginRun to the summary email.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  defineQuery,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities/types.js';
import { bookkeeping, diff, email, powerschool } from './activity-profiles.js';
import { HoldGate } from './hold.js';
import { SchoolIdKey, SyncTriggerKey, TestRunKey } from './search-attributes.js';
import {
  PROGRESS_QUERY,
  type RunCounts,
  type SyncContinuation,
  type SyncPhase,
  type SyncProgress,
  type SyncStudentsResult,
  type SyncStudentsWorkflowInput,
} from './types.js';

/**
 * syncStudents: one run of one school, as data.
 *
 *   beginRun → planRun → fetchPage × pages → lookupDepartures × n → applyRun | previewRun → finishRun → notify
 *
 * A commit that crosses the school's safety thresholds is held by applyRun: the workflow then
 * waits (workflows/hold.ts) for an approve or discard Update or the hold's expiry; approved, it
 * writes exactly the recorded changes (applyHeldRun); discarded, it ends `discarded`.
 *
 * A long run continues as new between pages; each new execution records itself on the run
 * (recordExecution) so the run's Temporal links open the execution that is carrying it.
 *
 * Only ids, counts and cursors cross into history; student rows stay in PostgreSQL. A failed run
 * is recorded and emailed, then the workflow fails with the error code as its type, so the
 * Temporal UI shows it red.
 */

/** Progress as the query answers it: SyncProgress plus the step the run is in. */
export const progressQuery = defineQuery<SyncProgress & { phase: SyncPhase }>(PROGRESS_QUERY);

const DEFAULT_PAGES_PER_EXECUTION = 500;
/**
 * Several pages per activity: one activity per page cost ~15 ms of dispatch each and left the
 * second core idle; a batch reads the next page while it stages the current one.
 */
const DEFAULT_PAGES_PER_ACTIVITY = 25;

export async function syncStudents(input: SyncStudentsWorkflowInput): Promise<SyncStudentsResult> {
  const info = workflowInfo();
  const runId = input.continuation?.runId ?? info.workflowId;
  const progress: SyncProgress = input.continuation?.progress ?? {
    pagesFetched: 0,
    pagesTotal: null,
    recordsFetched: 0,
    recordsTotal: null,
  };
  let phase: SyncPhase = input.continuation ? 'fetching' : 'starting';
  setHandler(progressQuery, () => ({ ...progress, phase }));
  upsertSearchAttributes([
    { key: SchoolIdKey, value: input.schoolId },
    { key: SyncTriggerKey, value: input.trigger },
  ]);
  const hold = new HoldGate(runId);

  let state: SyncContinuation | undefined = input.continuation;
  let notificationsEnabled = state?.notificationsEnabled ?? false;
  try {
    if (!state) {
      setCurrentDetails(`Starting a ${input.trigger} sync of school ${input.schoolId}`);
      const begin = await bookkeeping.beginRun({
        runId,
        temporalRunId: info.runId,
        schoolId: input.schoolId,
        trigger: input.trigger,
        testRun: input.testRun,
      });
      if (begin.outcome !== 'claimed') return endedWithoutRunning(runId, begin, (p) => (phase = p));
      notificationsEnabled = begin.notificationsEnabled;
      upsertSearchAttributes([{ key: TestRunKey, value: begin.testRun }]);

      phase = 'planning';
      setCurrentDetails('Counting students in PowerSchool');
      const plan = await powerschool.planRun({ runId });
      progress.pagesTotal = plan.pagesTotal;
      progress.recordsTotal = plan.recordsTotal;
      state = {
        runId,
        testRun: begin.testRun,
        notificationsEnabled,
        pageSize: plan.pageSize,
        nextPage: 1,
        afterDcid: null,
        pass: 0,
        // Each school pass may end on an empty page of its own.
        maxPage: plan.pagesTotal * 2 + 10 + (plan.passes ?? 1),
        progress,
      };
    } else {
      upsertSearchAttributes([{ key: TestRunKey, value: state.testRun }]);
      // The run's links follow it into each new execution. Patched: executions continued by an
      // older worker replay without this step.
      if (patched('record-execution')) await bookkeeping.recordExecution({ runId, temporalRunId: info.runId });
    }

    phase = 'fetching';
    const more = await fetchPages(
      state,
      progress,
      input.options?.pagesPerExecution ?? DEFAULT_PAGES_PER_EXECUTION,
      input.options?.pagesPerActivity ?? DEFAULT_PAGES_PER_ACTIVITY,
    );
    if (more === 'done') {
      phase = 'looking-up';
      setCurrentDetails('Asking PowerSchool why students left');
      await lookupDepartures(runId);
      phase = 'applying';
      setCurrentDetails(state.testRun ? 'Previewing the changes' : 'Committing the changes');
      let counts: RunCounts;
      if (state.testRun) counts = await diff.previewRun({ runId });
      else {
        // From here the run's row may say `held` before this workflow hears back from applyRun.
        hold.commitStarting();
        let commit: Awaited<ReturnType<typeof diff.applyRun>> | undefined;
        try {
          commit = await diff.applyRun({
            runId,
            ...(input.options?.holdDayMs ? { holdDayMs: input.options.holdDayMs } : {}),
          });
        } finally {
          if (!commit?.held) hold.commitNotHeld();
        }
        const { held, ...committed } = commit;
        counts = committed;
        if (held) {
          phase = 'held';
          const outcome = await hold.wait(held, notificationsEnabled);
          if (outcome.decision === 'discard') return endDiscarded(runId, counts, outcome, (p) => (phase = p));
          phase = 'applying';
          setCurrentDetails('Approved: writing the changes recorded when the commit was held');
          counts = await diff.applyHeldRun({ runId });
        }
      }
      phase = 'finishing';
      const finished = await bookkeeping.finishRun({ runId, status: 'succeeded' });
      phase = 'notifying';
      const notification = finished.notify ? await sendNotification(runId) : 'disabled';
      phase = 'done';
      setCurrentDetails(describeCounts(state.testRun, counts));
      return { runId, status: 'succeeded', testRun: state.testRun, counts, notification };
    }
  } catch (err) {
    // Also when beginRun itself failed: if it had claimed the slot, the row is ended (and the
    // school told); if it had not, finishRun finds no running row and changes nothing.
    const ended = await endFailedRun(runId, err, (p) => (phase = p));
    if (!ended.succeeded) throw ended.error;
    const testRun = state?.testRun ?? false;
    setCurrentDetails(describeCounts(testRun, ended.counts));
    return { runId, status: 'succeeded', testRun, counts: ended.counts, notification: ended.notification };
  }
  // Outside the try: continue-as-new is itself thrown, and must not be taken for a failure.
  return continueAsNew<typeof syncStudents>({ ...input, continuation: { ...state, progress } });
}

/**
 * Reads pages until the last one (or until this execution has done its share of pages).
 * Returns 'done', or 'continue' with `state.nextPage` set for the next execution.
 */
async function fetchPages(
  state: SyncContinuation,
  progress: SyncProgress,
  pagesPerExecution: number,
  pagesPerActivity: number,
): Promise<'done' | 'continue'> {
  let pagesThisExecution = 0;
  for (;;) {
    if (state.nextPage > state.maxPage)
      throw ApplicationFailure.nonRetryable(
        `PowerSchool kept returning full pages past page ${state.maxPage}, far beyond its own count`,
        'POWERSCHOOL_BAD_RESPONSE',
      );
    setCurrentDetails(
      `Reading page ${state.nextPage}${progress.pagesTotal ? ` of ${progress.pagesTotal}` : ''} ` +
        `(${progress.recordsFetched} of ${progress.recordsTotal ?? '?'} students so far)`,
    );
    const page = await powerschool.fetchPage({
      runId: state.runId,
      page: state.nextPage,
      pageSize: state.pageSize,
      afterDcid: state.afterDcid,
      pass: state.pass ?? 0,
      maxPages: Math.max(1, Math.min(pagesPerActivity, pagesPerExecution - pagesThisExecution)),
    });
    progress.pagesFetched = page.pagesFetched;
    progress.recordsFetched = page.recordsFetched;
    if (progress.pagesTotal !== null && page.pagesFetched > progress.pagesTotal)
      progress.pagesTotal = page.pagesFetched;
    if (page.nextPage === null) return 'done';
    state.nextPage = page.nextPage;
    state.afterDcid = page.lastDcid;
    state.pass = page.pass ?? 0;
    pagesThisExecution += page.pagesRead;
    if (pagesThisExecution >= pagesPerExecution || workflowInfo().continueAsNewSuggested) return 'continue';
  }
}

/**
 * The reasons of the students that left scope, read from PowerSchool and staged in PostgreSQL
 * (never here): each call works for about 10 s, until no student is left to ask about. Patched:
 * executions begun by an older worker replay without this step.
 */
async function lookupDepartures(runId: string): Promise<void> {
  if (!patched('departure-lookups')) return;
  for (;;) {
    const step = await powerschool.lookupDepartures({ runId });
    if (step.remaining === 0) return;
  }
}

async function sendNotification(runId: string): Promise<'sent' | 'failed'> {
  try {
    await email.notify({ runId });
    return 'sent';
  } catch (err) {
    if (isCancellation(err)) throw err;
    // The run itself stands; the row says the email could not go out.
    await bookkeeping.markNotificationFailed({ runId, message: describeFailure(err).message });
    return 'failed';
  }
}

/**
 * How a run that hit a failure or a cancel ended: with the error to throw, or — when its commit
 * had landed before the cancel or failure took hold — succeeded after all.
 */
type FailedRunEnd =
  | { succeeded: false; error: unknown }
  | { succeeded: true; counts: RunCounts; notification: SyncStudentsResult['notification'] };

/** Records the end of a failed or cancelled run and emails it. */
async function endFailedRun(runId: string, err: unknown, setPhase: (p: SyncPhase) => void): Promise<FailedRunEnd> {
  const cancelled = isCancellation(err);
  const failure = cancelled ? { code: 'CANCELLED', message: 'the run was cancelled' } : describeFailure(err);
  log.warn('sync run failed', { runId, code: failure.code });
  // Cleanup must run even though the workflow's own scope is cancelled.
  const { finished, notification } = await CancellationScope.nonCancellable(async () => {
    setPhase('finishing');
    const finished = await bookkeeping.finishRun({
      runId,
      status: cancelled ? 'cancelled' : 'failed',
      error: failure,
    });
    setPhase('notifying');
    const notification = finished.notify ? await sendNotification(runId) : ('disabled' as const);
    setPhase('done');
    return { finished, notification };
  });
  if (finished.succeededWith) {
    // The students were written: the run stands as succeeded, here as in its row.
    log.warn('the run had committed before it was stopped; it is recorded as succeeded', { runId, code: failure.code });
    return { succeeded: true, counts: finished.succeededWith, notification };
  }
  setCurrentDetails(cancelled ? 'Cancelled' : `Failed: ${failure.code} — ${failure.message}`);
  if (cancelled) return { succeeded: false, error: err };
  // Non-retryable, typed by the code: the UI shows the run red with what went wrong.
  return {
    succeeded: false,
    error: ApplicationFailure.create({
      message: failure.message,
      type: failure.code,
      nonRetryable: true,
      cause: err as Error,
    }),
  };
}

function describeFailure(err: unknown): { code: string; message: string } {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'INTERNAL', message: cause.message };
  if (cause instanceof TimeoutFailure)
    return { code: 'TIMEOUT', message: `a step of the run timed out (${cause.timeoutType})` };
  return { code: 'INTERNAL', message: cause instanceof Error ? cause.message : 'unexpected error' };
}

function endedWithoutRunning(
  runId: string,
  begin: Exclude<Awaited<ReturnType<SyncActivities['beginRun']>>, { outcome: 'claimed' }>,
  setPhase: (p: SyncPhase) => void,
): SyncStudentsResult {
  setPhase('done');
  if (begin.outcome === 'skipped') {
    setCurrentDetails(
      begin.code === 'RUN_IN_PROGRESS' ? `Skipped: run ${begin.runningRunId} is in progress` : 'Skipped: paused',
    );
    return {
      runId,
      status: 'skipped',
      testRun: null,
      counts: null,
      skipped: { code: begin.code, runningRunId: begin.runningRunId },
      notification: 'disabled',
    };
  }
  setCurrentDetails(`Nothing to do: this run already ended as ${begin.status}`);
  return {
    runId,
    status: 'skipped',
    testRun: null,
    counts: null,
    skipped: { code: 'RUN_ALREADY_ENDED', runningRunId: null },
    notification: 'disabled',
  };
}

/** A held commit that was discarded: nothing written; the end email says so (the row is already ended). */
async function endDiscarded(
  runId: string,
  counts: RunCounts,
  outcome: { code: string | null; notify: boolean },
  setPhase: (p: SyncPhase) => void,
): Promise<SyncStudentsResult> {
  setPhase('notifying');
  const notification = outcome.notify ? await sendNotification(runId) : 'disabled';
  setPhase('done');
  setCurrentDetails(`Discarded${outcome.code ? ` (${outcome.code})` : ''}: nothing was written`);
  return { runId, status: 'discarded', testRun: false, counts, notification };
}

function describeCounts(testRun: boolean, c: RunCounts): string {
  const verb = testRun ? 'Test run: would create' : 'Committed: created';
  return `${verb} ${c.created}, update ${c.updated}; ${c.unchanged} unchanged, ${c.invalid} invalid, ${c.missing} missing (of ${c.fetched} fetched)`;
}
