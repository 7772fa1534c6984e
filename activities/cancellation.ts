// The current activity's cancellation as an AbortSignal.
import { Context } from '@temporalio/activity';

/**
 * The running activity's cancellation signal: aborted when Temporal cancels the activity, when
 * it times out, or when the worker shuts down. Undefined outside an activity (unit tests).
 */
export function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}
