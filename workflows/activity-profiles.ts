// The activity profiles of syncStudents: timeouts and retry policies, named for what they call.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { SyncActivities } from '../activities/types.js';
import { SCHOOL_ACTION_CODES } from '../shared/codes.js';

/** Errors no retry can fix: the school has to change something first. */
const SETTINGS_ERRORS: string[] = SCHOOL_ACTION_CODES;

/** Our own PostgreSQL bookkeeping: short, retried patiently through a database blip. */
export const bookkeeping = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: SETTINGS_ERRORS,
  },
});

/**
 * PowerSchool calls: 5xx and dropped connections retry with backoff; a 429 (or a 503 saying when
 * to come back) retries after the server's Retry-After, up to 15 minutes (the activity sets
 * nextRetryDelay, which takes precedence over this backoff). The heartbeat timeout notices a dead
 * worker quickly; the activity heartbeats on a timer while it works.
 */
export const powerschool = proxyActivities<SyncActivities>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: SETTINGS_ERRORS,
  },
});

/**
 * The diff of a whole district in one transaction: long, but heartbeating throughout. A cancel
 * waits for the activity's answer: it rolls the transaction back (the run ends cancelled), or the
 * commit had already landed (the run ends succeeded). Never a run recorded before its commit's fate is known.
 */
export const diff = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Email: Resend's 5xx/429/network errors retry (the idempotency key makes that safe). */
export const email = proxyActivities<SyncActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 6,
    nonRetryableErrorTypes: ['EMAIL_REJECTED'],
  },
});
