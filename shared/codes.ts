// The registry of every error code the service reports: the API's HTTP answers, how runs end, activity failure types.

/**
 * One entry per code. Everything else is derived from it and checked by the compiler:
 * api/errors.ts takes the HTTP status of an ApiError from here, email/compose.ts must have a remedy
 * for every code a run can fail with (`satisfies Record<RunFailureCode, string>`), the workflow's
 * non-retryable list is the `school` codes, and PowerSchool client codes are the `POWERSCHOOL_*` ones.
 * Kept free of imports: API, activities, email and the workflow sandbox all read it.
 */
interface CodeSpec {
  /** The HTTP status the API answers with it; null: the API never does. */
  readonly http: 400 | 401 | 404 | 405 | 409 | 413 | 422 | 429 | 500 | 503 | null;
  /**
   * How a run can end with it (runs.error_code): `failed` runs get a remedy in their email;
   * null: never a run's code (an API-only code, or a failure of the notify step, which leaves
   * the run as it ended).
   */
  readonly run: 'failed' | 'skipped' | 'cancelled' | 'failed or cancelled' | 'discarded' | null;
  /** No retry can fix it: the school has to change its settings or its PowerSchool plugin first. */
  readonly school?: true;
}

export const CODES = {
  // Request errors of the API.
  VALIDATION_FAILED: { http: 400, run: null },
  UNAUTHORIZED: { http: 401, run: null },
  NOT_FOUND: { http: 404, run: null },
  METHOD_NOT_ALLOWED: { http: 405, run: null },
  PAYLOAD_TOO_LARGE: { http: 413, run: null },
  RATE_LIMITED: { http: 429, run: null },
  NOT_READY: { http: 503, run: null },
  // Refusals of a run: a 409 from the API, a skipped run when the schedule fires.
  INTEGRATION_INACTIVE: { http: 409, run: 'skipped' },
  RUN_IN_PROGRESS: { http: 409, run: 'skipped' },
  RUN_ALREADY_ENDED: { http: null, run: 'skipped' },
  // The safety hold: approve/discard of a run that is not (or no longer) waiting, or that no worker took up.
  RUN_NOT_HELD: { http: 409, run: null },
  TEMPORAL_UNAVAILABLE: { http: 503, run: null },
  /** Approved, but a recorded change no longer matches the stored student: nothing written. */
  HOLD_STALE: { http: null, run: 'failed' },
  HOLD_EXPIRED: { http: null, run: 'discarded' },
  INTEGRATION_DELETED: { http: null, run: 'discarded' },
  // Match reviews and imported accounts.
  REVIEW_RESOLVED: { http: 409, run: null },
  NOT_LINKED: { http: 409, run: null },
  // PowerSchool, as the client reports it; test-connection answers the first three as 422.
  POWERSCHOOL_AUTH_FAILED: { http: 422, run: 'failed', school: true },
  POWERSCHOOL_FORBIDDEN: { http: 422, run: 'failed', school: true },
  POWERSCHOOL_UNREACHABLE: { http: 422, run: 'failed' },
  POWERSCHOOL_INSECURE_URL: { http: null, run: 'failed', school: true },
  POWERSCHOOL_NOT_FOUND: { http: null, run: 'failed', school: true },
  POWERSCHOOL_UNAVAILABLE: { http: null, run: 'failed' },
  POWERSCHOOL_RATE_LIMITED: { http: null, run: 'failed' },
  POWERSCHOOL_BAD_RESPONSE: { http: null, run: 'failed' },
  // The run's own failures.
  INVALID_SETTINGS: { http: null, run: 'failed', school: true },
  INTEGRATION_NOT_FOUND: { http: null, run: 'failed', school: true },
  START_FAILED: { http: null, run: 'failed' },
  TIMEOUT: { http: null, run: 'failed' },
  RUN_ABANDONED: { http: null, run: 'failed or cancelled' },
  CANCELLED: { http: null, run: 'cancelled' },
  /** An activity found its run already ended (cancelled, or its diff recorded): nothing to retry. */
  RUN_ENDED: { http: null, run: 'failed' },
  INTERNAL: { http: 500, run: 'failed' },
  // Failures of the notify step (the run keeps its status; notification.status becomes failed).
  EMAIL_SEND_FAILED: { http: null, run: null },
  EMAIL_REJECTED: { http: null, run: null },
} as const satisfies Record<string, CodeSpec>;

export type Code = keyof typeof CODES;
type Spec<C extends Code> = (typeof CODES)[C];

/** The codes an API error response can carry. */
export type ApiErrorCode = { [C in Code]: Spec<C>['http'] extends null ? never : C }[Code];
/** The HTTP status of each API code. */
export type HttpStatusOf<C extends ApiErrorCode> = Exclude<Spec<C>['http'], null>;
/** The codes a run can end `failed` with: each needs a remedy in the run email. */
export type RunFailureCode = {
  [C in Code]: Spec<C>['run'] extends 'failed' | 'failed or cancelled' ? C : never;
}[Code];
/** The codes the PowerSchool client reports. */
export type PowerSchoolErrorCode = Extract<Code, `POWERSCHOOL_${string}`>;
/** The codes that ask the school to act first: retrying them is pointless. */
export type SchoolActionCode = { [C in Code]: Spec<C> extends { school: true } ? C : never }[Code];

export function isCode(value: string): value is Code {
  return Object.hasOwn(CODES, value);
}

export function httpStatusOf<C extends ApiErrorCode>(code: C): HttpStatusOf<C> {
  return CODES[code].http as HttpStatusOf<C>;
}

/** The codes no retry can fix, for a workflow's nonRetryableErrorTypes. */
export const SCHOOL_ACTION_CODES = (Object.keys(CODES) as Code[]).filter(
  (code): code is SchoolActionCode => 'school' in CODES[code],
);
