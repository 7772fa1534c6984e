// In-process retries of retryable PowerSchoolErrors: exponential backoff, or a short Retry-After.
import { setTimeout as sleep } from 'node:timers/promises';
import { PowerSchoolError } from './errors.js';
import type { Log } from '../logging/log.js';

export interface RetryPolicy {
  /** Attempts, the first one included. */
  maxAttempts: number;
  /** First backoff delay; doubles per attempt (with jitter). */
  retryBaseDelayMs: number;
  /** Longest wait between two attempts; a longer Retry-After is left to the caller. */
  maxRetryDelayMs: number;
  logger?: Log | undefined;
  /** Ends a wait between attempts, rejecting with the signal's reason. */
  signal?: AbortSignal | undefined;
}

export async function withRetries<T>(what: string, attempt: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const error = err instanceof PowerSchoolError ? err : null;
      if (!error || !error.retryable || n >= policy.maxAttempts) throw err;
      // A server asking for longer than we wait here gets its full wait from the caller (a
      // Temporal retry after nextRetryDelay): retrying sooner would only be refused again.
      if (error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxRetryDelayMs) throw err;
      const backoff = policy.retryBaseDelayMs * 2 ** (n - 1) * (0.8 + Math.random() * 0.4);
      const delay = error.retryAfterMs ?? Math.min(policy.maxRetryDelayMs, backoff);
      policy.logger?.warn(
        { what, code: error.code, status: error.status, attempt: n, delayMs: Math.round(delay) },
        'PowerSchool request failed; retrying',
      );
      await waitFor(delay, policy.signal);
    }
  }
}

/** Like the platform's timer, but an abort rejects with the signal's own reason (the activity's cancellation). */
async function waitFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}
