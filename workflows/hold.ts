// The safety hold inside syncStudents: wait for an approve or discard Update, or the hold's expiry.
import {
  ApplicationFailure,
  condition,
  defineUpdate,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { HeldCommit, HoldReason } from '../activities/types.js';
import { bookkeeping, email } from './activity-profiles.js';
import { SyncStatusKey } from './search-attributes.js';
import { DECIDE_HOLD_UPDATE, type HoldDecisionInput } from './types.js';

/** What the Update answers once its decision is recorded on the run. */
export interface HoldDecisionResult {
  status: 'running' | 'discarded';
}

export const decideHoldUpdate = defineUpdate<HoldDecisionResult, [HoldDecisionInput]>(DECIDE_HOLD_UPDATE);

export type HoldOutcome = { decision: 'approve' } | { decision: 'discard'; code: string | null; notify: boolean };

/**
 * Where the run stands toward a hold: `committing` while applyRun may record one (its row can say
 * `held` before the workflow hears back from the activity), `waiting` while held, `past` once the
 * commit was not held or the hold is over.
 */
type HoldStage = 'before' | 'committing' | 'waiting' | 'past';

/**
 * The hold's gate. The Update's validator refuses (synchronously, so the API can answer 409 without
 * guessing) unless the run waits, or its commit may still be held, and nothing was decided yet; the
 * handler claims the decision before its first await, so of two concurrent approvals exactly one
 * is accepted. A decision that arrives while the commit is in flight waits for its outcome: held,
 * it stands; not held, it is refused. The handler records the decision on the run before it
 * returns: the API's answer then shows the new status.
 */
export class HoldGate {
  private stage: HoldStage = 'before';
  private decision: HoldDecisionInput | 'expired' | undefined;
  private settled = false;
  private discardNotify = false;

  constructor(private readonly runId: string) {
    setHandler(decideHoldUpdate, (input) => this.decide(input), { validator: (input) => this.validate(input) });
  }

  /** applyRun (a commit) is about to run: from here on the run's row may say `held`. */
  commitStarting(): void {
    this.stage = 'committing';
  }

  /** The commit came back without a hold (or failed): a decision taken meanwhile is refused. */
  commitNotHeld(): void {
    if (this.stage === 'committing') this.stage = 'past';
  }

  private validate(input: HoldDecisionInput): void {
    if (input?.decision !== 'approve' && input?.decision !== 'discard')
      throw ApplicationFailure.nonRetryable('decision must be approve or discard', 'VALIDATION_FAILED');
    // The caller has given up and answered 503 by now: taking the decision would contradict it.
    if (!(Date.now() <= Date.parse(input.acceptBy)))
      throw ApplicationFailure.nonRetryable(
        'the decision arrived after its caller stopped waiting',
        'TEMPORAL_UNAVAILABLE',
      );
    if ((this.stage !== 'committing' && this.stage !== 'waiting') || this.decision !== undefined)
      throw ApplicationFailure.nonRetryable('the run is not held', 'RUN_NOT_HELD');
  }

  private async decide(input: HoldDecisionInput): Promise<HoldDecisionResult> {
    this.decision = input;
    this.settled = false;
    try {
      await condition(() => this.stage !== 'committing');
      if (this.stage !== 'waiting') throw ApplicationFailure.nonRetryable('the run is not held', 'RUN_NOT_HELD');
      if (!(Date.now() <= Date.parse(input.acceptBy)))
        throw ApplicationFailure.nonRetryable(
          'the run was held after its caller stopped waiting',
          'TEMPORAL_UNAVAILABLE',
        );
      if (input.decision === 'approve') {
        await bookkeeping.resumeHeldRun({ runId: this.runId });
        return { status: 'running' };
      }
      const error = input.code ? { code: input.code, message: 'the integration was deleted' } : undefined;
      const ended = await bookkeeping.discardHeldRun({ runId: this.runId, ...(error ? { error } : {}) });
      this.discardNotify = ended.notify;
      return { status: 'discarded' };
    } catch (err) {
      // Refused after all: the hold, if there is one, waits for another decision.
      if (err instanceof ApplicationFailure && this.stage === 'waiting') this.decision = undefined;
      throw err;
    } finally {
      this.settled = true;
    }
  }

  /** Waits, durably, for a decision or the expiry; the run row already says `held`. */
  async wait(held: HeldCommit, notificationsEnabled: boolean): Promise<HoldOutcome> {
    upsertSearchAttributes([{ key: SyncStatusKey, value: 'held' }]);
    setCurrentDetails(
      `Held for approval: ${held.reasons.map(describeReason).join('; ')}. ` +
        `Waiting for approve or discard until ${held.expiresAt}, then discarded.`,
    );
    this.stage = 'waiting';
    try {
      if (notificationsEnabled) await this.sendHoldEmail();
      const decided = await condition(
        () => this.decision !== undefined,
        Math.max(1, Date.parse(held.expiresAt) - Date.now()),
      );
      if (!decided) {
        this.decision = 'expired';
        const ended = await bookkeeping.discardHeldRun({
          runId: this.runId,
          error: { code: 'HOLD_EXPIRED', message: `nobody approved the held commit by ${held.expiresAt}` },
        });
        return { decision: 'discard', code: 'HOLD_EXPIRED', notify: ended.notify };
      }
      await condition(() => this.settled);
      if (this.decision === undefined) return this.wait(held, false);
      const decision = this.decision as HoldDecisionInput;
      return decision.decision === 'approve'
        ? { decision: 'approve' }
        : { decision: 'discard', code: decision.code ?? null, notify: this.discardNotify };
    } finally {
      this.stage = 'past';
      upsertSearchAttributes([{ key: SyncStatusKey, value: null }]);
    }
  }

  private async sendHoldEmail(): Promise<void> {
    try {
      await email.notifyHold({ runId: this.runId });
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The hold stands without its email; the run's end email still goes out.
      log.warn('hold email could not be sent', { runId: this.runId });
    }
  }
}

function describeReason(r: HoldReason): string {
  const what = r.code === 'TOO_MANY_DEPARTURES' ? 'departures' : 'updates';
  return `${r.count} ${what} of ${r.base} active students (${r.percent}% > ${r.limit}%)`;
}
