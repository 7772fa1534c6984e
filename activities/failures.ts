// Errors as Temporal failures: which ones a retry can fix, and their codes.
import { ApplicationFailure } from '@temporalio/common';
import { RunEndedError } from '../db/queries/staging.js';
import { EmailSendError } from '../email/sender.js';
import { isPowerSchoolError, MAX_RETRY_AFTER_MS } from '../powerschool/errors.js';
import type { RunFailureCode } from '../shared/codes.js';

/** A failure no retry of this activity can fix, typed by a code a run can fail with. */
function nonRetryable(message: string, code: RunFailureCode): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, code);
}

/**
 * Turns what an adapter throws into the ApplicationFailure Temporal records: the error code as
 * the failure type (the workflow and the retry policies key on it), retryability, and the
 * server's Retry-After as the next retry delay. Messages name fields and statuses, never secrets.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  // Nothing to retry: the run ended (cancelled) or recorded its diff while this step was in flight.
  if (err instanceof RunEndedError) return nonRetryable(err.message, 'RUN_ENDED');
  // The workflow lists EMAIL_REJECTED as non-retryable too; the run keeps its status either way.
  if (err instanceof EmailSendError) {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !err.retryable });
  }
  if (isPowerSchoolError(err)) {
    const fields = err.fields?.length ? ` (grant: ${err.fields.join(', ')})` : '';
    const message = err.message.includes('grant') || !fields ? err.message : `${err.message}${fields}`;
    return ApplicationFailure.create({
      message,
      type: err.code,
      nonRetryable: !err.retryable,
      // Temporal's retry waits what the server asked (the client does not wait long in-process).
      nextRetryDelay: err.retryAfterMs === undefined ? undefined : Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS),
      details: err.fields?.length ? [{ fields: err.fields }] : undefined,
    });
  }
  return err;
}

export async function adaptFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toActivityFailure(err);
  }
}

export function invalidSettings(message: string): ApplicationFailure {
  return nonRetryable(message, 'INVALID_SETTINGS');
}

export function integrationNotFound(schoolId: string): ApplicationFailure {
  return nonRetryable(`school ${schoolId} has no PowerSchool integration`, 'INTEGRATION_NOT_FOUND');
}
