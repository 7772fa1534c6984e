// PowerSchoolClient: what the service asks PowerSchool (connection check, page size, count, keyset pages, schools, DCID ranges).
import { countOf, maxPageSizeOf, studentRowsOf, tableRowsOf } from './answers.js';
import { enrolmentOf, ENROLMENT_COLUMNS, type Enrolment } from './enrolments.js';
import type { PowerSchoolCredentials } from './oauth.js';
import { STUDENT_COLUMNS } from './records.js';
import { SCHOOL_COLUMNS, schoolOf, type PowerSchoolSchool } from './schools.js';
import {
  afterDcidQuery,
  dcidRangeQuery,
  schoolPasses,
  scopeQuery,
  type EnrolmentFilter,
  type StudentScope,
} from './scope.js';
import type { PowerSchoolRequestObserver } from './request-outcome.js';
import { PowerSchoolSession } from './session.js';
import type { Log } from '../logging/log.js';

export { PowerSchoolError } from './errors.js';
export type { PowerSchoolCredentials } from './oauth.js';
export type { EnrolmentFilter, StudentScope } from './scope.js';
export type { Enrolment } from './enrolments.js';
export type { PowerSchoolSchool } from './schools.js';

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

  /** One count per selected school (the query has no OR), one after the other. */
  async countStudents(scope: StudentScope): Promise<number> {
    let total = 0;
    for (const pass of schoolPasses(scope))
      total += countOf(await this.session.getJson('/ws/schema/table/students/count', { q: scopeQuery(pass) }));
    return total;
  }

  /** Every school of the district (the SCHOOLS table), sorted by school number. */
  async listSchools(): Promise<PowerSchoolSchool[]> {
    const pageSize = await this.getMaxPageSize();
    const schools: PowerSchoolSchool[] = [];
    // A district has tens of schools, not thousands: page numbers are safe on a table this small.
    for (let page = 1; ; page++) {
      const rows = tableRowsOf(
        await this.session.getJson('/ws/schema/table/schools', {
          projection: SCHOOL_COLUMNS.join(','),
          page: String(page),
          pagesize: String(pageSize),
          sort: 'school_number',
        }),
        'schools',
      );
      for (const row of rows) {
        const school = schoolOf(row);
        if (school) schools.push(school);
      }
      if (rows.length < pageSize) break;
    }
    const unique = new Map(schools.map((s) => [s.schoolNumber, s]));
    return [...unique.values()].sort((a, b) => a.schoolNumber - b.schoolNumber);
  }

  /**
   * Keyset paging over a DCID range without the scope filter: the next `pageSize` student records
   * with a DCID in `from`…`to` above `afterDcid` (and passing `filter`), as their enrolment only
   * (status, school, grade). `rows` is what the page held, for the caller's short-page test.
   */
  async fetchEnrolmentsInRange(
    range: { from: string; to: string },
    afterDcid: string | null,
    pageSize: number,
    filter: EnrolmentFilter = 'all',
  ): Promise<{ rows: number; enrolments: Enrolment[] }> {
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be an integer ≥ 1');
    const body = await this.session.getJson('/ws/schema/table/students', {
      projection: ENROLMENT_COLUMNS.join(','),
      q: dcidRangeQuery(range.from, range.to, afterDcid, filter),
      page: '1',
      pagesize: String(pageSize),
      sort: 'dcid',
    });
    const rows = studentRowsOf(body);
    return { rows: rows.length, enrolments: rows.map(enrolmentOf).filter((e): e is Enrolment => e !== null) };
  }

  /**
   * Keyset paging: the next `pageSize` in-scope students, sorted by DCID, with a DCID above
   * `afterDcid` (null: from the start), as raw `tables.students` objects (validate them with
   * normaliseStudent). Immune to students added or removed behind the cursor while a long read
   * runs, which page numbers are not; pass the last DCID of the previous batch. A scope of several
   * schools is read one school at a time (schoolPasses).
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
