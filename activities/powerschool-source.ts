// The PowerSchool an activity reads: the test's source when one is given, else the real client.
import { PowerSchoolClient, type PowerSchoolCredentials } from '../powerschool/client.js';
import type { ActivityDeps, SourceFactory } from './deps.js';
import { activitySignal } from './cancellation.js';

/**
 * The client retries once in-process (a quick second try for a blip); anything longer is left to
 * the activity's retry policy, so retries show in the Temporal UI and survive a worker restart.
 */
function realClient(
  credentials: PowerSchoolCredentials,
  allowInsecure: boolean,
  signal?: AbortSignal,
  onRequest?: Parameters<SourceFactory<unknown>>[3],
): PowerSchoolClient {
  return new PowerSchoolClient({
    credentials,
    allowInsecure,
    maxAttempts: 2,
    retryBaseDelayMs: 250,
    maxRetryDelayMs: 5_000,
    ...(signal ? { signal } : {}),
    ...(onRequest ? { onRequest } : {}),
  });
}

/**
 * Opens the activity's PowerSchool: the activity's cancellation (or heartbeat timeout) aborts the
 * request in flight, and every request is counted in the worker's metrics. PowerSchoolClient is
 * both a StudentSource and a DepartureSource, whichever `S` the caller reads through.
 */
export function openPowerSchool<S>(
  deps: ActivityDeps,
  credentials: PowerSchoolCredentials,
  factory: SourceFactory<S> | undefined,
): S {
  const metrics = deps.metrics;
  return (factory ?? (realClient as SourceFactory<unknown> as SourceFactory<S>))(
    credentials,
    deps.config.allowInsecurePowerSchool,
    activitySignal(),
    metrics ? (outcome) => metrics.powerSchoolRequest(outcome) : undefined,
  );
}
