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
 * The hold's gate. The Update's validator refuses (synchronously, so the API can answer 409 without
 * guessing) unless the run waits and nothing was decided yet; the handler claims the decision
 * before its first await, so of two concurrent approvals exactly one is accepted. The handler
 * records the decision on the run before it returns: the API's answer then shows the new status.
 */
export class HoldGate {
  private waiting = false;
  private decision: HoldDecisionInput | 'expired' | undefined;
  private settled = false;
  private discardNotify = false;

  constructor(private readonly runId: string) {
    setHandler(decideHoldUpdate, (input) => this.decide(input), { validator: (input) => this.validate(input) });
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
    if (!this.waiting || this.decision !== undefined)
      throw ApplicationFailure.nonRetryable('the run is not held', 'RUN_NOT_HELD');
  }

  private async decide(input: HoldDecisionInput): Promise<HoldDecisionResult> {
    this.decision = input;
    try {
      if (input.decision === 'approve') {
        await bookkeeping.resumeHeldRun({ runId: this.runId });
        return { status: 'running' };
      }
      const error = input.code ? { code: input.code, message: 'the integration was deleted' } : undefined;
      const ended = await bookkeeping.discardHeldRun({ runId: this.runId, ...(error ? { error } : {}) });
      this.discardNotify = ended.notify;
      return { status: 'discarded' };
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
    this.waiting = true;
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
      const decision = this.decision as HoldDecisionInput;
      return decision.decision === 'approve'
        ? { decision: 'approve' }
        : { decision: 'discard', code: decision.code ?? null, notify: this.discardNotify };
    } finally {
      this.waiting = false;
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
