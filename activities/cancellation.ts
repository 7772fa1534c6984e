// The current activity's cancellation as an AbortSignal.
import { Context } from '@temporalio/activity';

/**
 * The running activity's cancellation signal: aborted when Temporal cancels the activity, when
 * it times out, or when the worker shuts down.
 */
export function activitySignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

/**
 * Runs `fn` with the activity's signal. PostgreSQL's "canceling statement due to user request" is
 * our own cancel: it is reported as the activity's cancellation, which Temporal records as such.
 */
export async function cancellable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = activitySignal();
  try {
    return await fn(signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  }
}
