// Keeps a long activity's heartbeat going, with the details a retry resumes from.
import { Context } from '@temporalio/activity';

/**
 * Heartbeats on a timer while `work` runs, so a worker that dies mid-activity is noticed within
 * the heartbeat timeout (not the much longer start-to-close timeout), while a healthy one working
 * through a slow statement or a Retry-After wait is left alone.
 */
export async function withHeartbeat<T>(
  work: () => Promise<T>,
  everyMs = 1_000,
  /** What each heartbeat carries (a retry reads the last one back): e.g. where to resume. */
  details: () => unknown = () => undefined,
): Promise<T> {
  const context = Context.current();
  context.heartbeat(details());
  const timer = setInterval(() => context.heartbeat(details()), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
