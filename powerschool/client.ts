// PowerSchoolClient: what the service asks PowerSchool (connection check, page size, count, keyset pages).
import { countOf, maxPageSizeOf, studentRowsOf } from './answers.js';
import type { PowerSchoolCredentials } from './oauth.js';
import { STUDENT_COLUMNS } from './records.js';
import { afterDcidQuery, scopeQuery, type StudentScope } from './scope.js';
import type { PowerSchoolRequestObserver } from './request-outcome.js';
import { PowerSchoolSession } from './session.js';
import type { Log } from '../logging/log.js';

export { PowerSchoolError } from './errors.js';
export type { PowerSchoolCredentials } from './oauth.js';
export type { StudentScope } from './scope.js';

export interface PowerSchoolClientOptions {
  credentials: PowerSchoolCredentials;
  /** Allow http:// and internal addresses (development and tests only). */
  allowInsecure?: boolean;
  /** Deadline of each HTTP request, connect to last byte. Default 30 s. */
  timeoutMs?: number;
  /** Minimum time between the starts of two requests to this school. Default 0. */
  minIntervalMs?: number;
  /** In-process attempts for retryable errors, first one included. Default 3. */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt (with jitter). Default 500 ms. */
  retryBaseDelayMs?: number;
  /**
   * Longest wait between two in-process attempts. Default 30 s. A Retry-After above it is not
   * waited here: the error is thrown at once, carrying `retryAfterMs` for the caller's retry.
   */
  maxRetryDelayMs?: number;
  /** Never given secrets, tokens or student data. */
  logger?: Log;
  /** Aborts requests in flight and retry waits (e.g. on Temporal activity cancellation). */
  signal?: AbortSignal;
  /** Told the outcome of every HTTP exchange, retries included (the worker's metrics). */
  onRequest?: PowerSchoolRequestObserver;
}

export class PowerSchoolClient {
  private readonly session: PowerSchoolSession;
  private maxPageSize: number | undefined;

  constructor(options: PowerSchoolClientOptions) {
    this.session = new PowerSchoolSession({
      credentials: options.credentials,
      allowInsecure: options.allowInsecure ?? false,
      timeoutMs: options.timeoutMs ?? 30_000,
      minIntervalMs: options.minIntervalMs ?? 0,
      maxAttempts: Math.max(1, options.maxAttempts ?? 3),
      retryBaseDelayMs: options.retryBaseDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      logger: options.logger,
      signal: options.signal,
      onRequest: options.onRequest,
    });
  }

  /**
   * For "test connection": a real token request (never the cached token, so changed credentials
   * are checked now) followed by a count of the students in scope.
   */
  async checkConnection(scope: StudentScope): Promise<{ studentsInScope: number }> {
    await this.session.checkCredentials();
    return { studentsInScope: await this.countStudents(scope) };
  }

  /** Largest `pagesize` the table endpoint accepts (metadata; 100, PowerSchool's default, if absent). */
  async getMaxPageSize(): Promise<number> {
    this.maxPageSize ??= maxPageSizeOf(await this.session.getJson('/ws/v1/metadata', {}));
    return this.maxPageSize;
  }

  async countStudents(scope: StudentScope): Promise<number> {
    return countOf(await this.session.getJson('/ws/schema/table/students/count', { q: scopeQuery(scope) }));
  }

  /**
   * Keyset paging: the next `pageSize` in-scope students, sorted by DCID, with a DCID above
   * `afterDcid` (null: from the start), as raw `tables.students` objects (validate them with
   * normaliseStudent). Immune to students added or removed behind the cursor while a long read
   * runs, which page numbers are not; pass the last DCID of the previous batch.
   */
  async fetchStudentsAfter(scope: StudentScope, afterDcid: string | null, pageSize: number): Promise<unknown[]> {
    const q = afterDcidQuery(scope, afterDcid);
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be an integer ≥ 1');
    const body = await this.session.getJson('/ws/schema/table/students', {
      projection: STUDENT_COLUMNS.join(','),
      q,
      page: '1',
      pagesize: String(pageSize),
      sort: 'dcid',
    });
    return studentRowsOf(body);
  }
}
