// The current activity's cancellation as an AbortSignal.
import { Context } from '@temporalio/activity';

/**
 * The running activity's cancellation signal: aborted when Temporal cancels the activity, when
 * it times out, or when the worker shuts down.
 */
export function activitySignal(): AbortSignal {
  return Context.current().cancellationSignal;
}
