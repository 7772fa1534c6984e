// PowerSchoolError and its codes: what every client failure is.
import type { PowerSchoolErrorCode } from '../shared/codes.js';

/**
 * The errors the PowerSchool client throws. `retryable` tells the caller (a Temporal activity)
 * whether trying again later can help; the client has already retried retryable ones in-process.
 */

/**
 * The longest we ever wait on a server's say-so (Retry-After): a server asking for an hour gets
 * retried after 15 minutes, and asks again if it still means it. Bounds a run's retry waits.
 */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/** The POWERSCHOOL_* codes of the registry (shared/codes.ts). */
export type { PowerSchoolErrorCode };

export interface PowerSchoolErrorDetails {
  retryable: boolean;
  /**
   * How long the server asked us to wait (429 or 503 Retry-After, or a 429 body saying seconds),
   * at most MAX_RETRY_AFTER_MS.
   */
  retryAfterMs?: number;
  /** For POWERSCHOOL_FORBIDDEN: the columns the plugin must grant, e.g. `students.dob`. */
  fields?: string[];
  /** HTTP status, when there was a response. */
  status?: number;
  cause?: unknown;
}

export class PowerSchoolError extends Error {
  override name = 'PowerSchoolError';
  readonly code: PowerSchoolErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly fields?: string[];
  readonly status?: number;

  constructor(code: PowerSchoolErrorCode, message: string, details: PowerSchoolErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.fields !== undefined) this.fields = details.fields;
    if (details.status !== undefined) this.status = details.status;
  }
}

export function isPowerSchoolError(err: unknown): err is PowerSchoolError {
  return err instanceof PowerSchoolError;
}
