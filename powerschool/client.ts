import { createHash } from 'node:crypto';
import { errorForStatus, parseJsonBody } from './classify.js';
import { PowerSchoolError } from './errors.js';
import { sendHttp, assertAllowedUrl, type HttpResponse } from './http.js';
import { inPoliteSlot } from './politeness.js';
import { STUDENT_COLUMNS } from './records.js';
import { getToken, invalidateToken, refreshToken, safetyMarginMs, type CachedToken } from './token-cache.js';
import type { Log } from '../logging/log.js';

export { PowerSchoolError, type PowerSchoolErrorCode } from './errors.js';
export { isForbiddenAddress } from './ssrf.js';
export { parseV1Students, v1StudentToRow } from './v1.js';
export { STUDENT_COLUMNS } from './records.js';

export interface PowerSchoolCredentials {
  serverUrl: string;
  clientId: string;
  clientSecret: string;
}

/** Grades to read, inclusive (−2 … 12). Only active students (enroll_status 0) are read. */
export interface StudentScope {
  gradeFrom: number;
  gradeTo: number;
}

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
}

/** Progress of `readAllStudents`, one call per page, then one final `done` call. */
export type ReadProgress =
  | {
      kind: 'page';
      page: number;
      pagesTotal: number;
      pageSize: number;
      /** Rows on this page after dropping DCIDs already seen. */
      rows: number;
      duplicatesOnPage: number;
      rowsSoFar: number;
      expectedCount: number;
    }
  | ({ kind: 'done' } & ReadSummary);

/** The outcome of a full read: also the generator's return value. */
export interface ReadSummary {
  /** The count PowerSchool reported before paging. */
  expectedCount: number;
  /** Distinct rows yielded. */
  received: number;
  /** Rows dropped because their DCID had already been yielded (records shifted between pages). */
  duplicates: number;
  pagesFetched: number;
  pagesTotal: number;
  pageSize: number;
  /** received ≠ expectedCount: students were added or removed while reading. */
  countMismatch: boolean;
}

export interface ReadOptions {
  /** Defaults to the server's maximum page size (metadata). */
  pageSize?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_PAGE_SIZE = 100;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The `q` filter for a scope: active students within the grades. */
export function scopeQuery(scope: StudentScope): string {
  for (const [name, value] of Object.entries(scope))
    if (!Number.isInteger(value)) throw new RangeError(`scope.${name} must be an integer`);
  return `grade_level=ge=${scope.gradeFrom};grade_level=le=${scope.gradeTo};enroll_status==0`;
}

/** Server URL without trailing slashes; path prefixes (a PowerSchool behind /ps) are kept. */
function normaliseServerUrl(serverUrl: string): string {
  return serverUrl.trim().replace(/\/+$/, '');
}

function toNonNegativeInteger(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

export class PowerSchoolClient {
  private readonly serverUrl: string;
  private readonly credentials: PowerSchoolCredentials;
  private readonly allowInsecure: boolean;
  private readonly timeoutMs: number;
  private readonly minIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly logger: Log | undefined;
  private readonly signal: AbortSignal | undefined;
  /** One in-flight request per school: the politeness key. */
  private readonly schoolKey: string;
  /** Token cache key: includes a fingerprint of the secret, so a changed secret is re-checked. */
  private readonly tokenKey: string;
  private maxPageSize: number | undefined;

  constructor(options: PowerSchoolClientOptions) {
    this.credentials = options.credentials;
    this.serverUrl = normaliseServerUrl(options.credentials.serverUrl);
    this.allowInsecure = options.allowInsecure ?? false;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.minIntervalMs = options.minIntervalMs ?? 0;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.logger = options.logger;
    this.signal = options.signal;
    this.schoolKey = `${this.serverUrl}\u0000${options.credentials.clientId}`;
    const fingerprint = createHash('sha256').update(options.credentials.clientSecret).digest('base64url').slice(0, 16);
    this.tokenKey = `${this.schoolKey}\u0000${fingerprint}`;
  }

  /**
   * For "test connection": a real token request (never the cached token, so changed credentials
   * are checked now) followed by a count of the students in scope.
   */
  async checkConnection(scope: StudentScope): Promise<{ studentsInScope: number }> {
    await this.withRetries('POST /oauth/access_token', () => refreshToken(this.tokenKey, () => this.requestToken()));
    return { studentsInScope: await this.countStudents(scope) };
  }

  /** Largest `pagesize` the table endpoint accepts (metadata; 100, PowerSchool's default, if absent). */
  async getMaxPageSize(): Promise<number> {
    if (this.maxPageSize !== undefined) return this.maxPageSize;
    const body = await this.getJson('/ws/v1/metadata', {});
    const metadata = (body as { metadata?: Record<string, unknown> } | null)?.metadata ?? {};
    const size =
      toNonNegativeInteger(metadata.schema_table_query_max_page_size) ??
      toNonNegativeInteger(metadata.student_max_page_size);
    this.maxPageSize = size && size > 0 ? size : DEFAULT_MAX_PAGE_SIZE;
    return this.maxPageSize;
  }

  async countStudents(scope: StudentScope): Promise<number> {
    const body = await this.getJson('/ws/schema/table/students/count', { q: scopeQuery(scope) });
    const b = body as { count?: unknown; resource?: { count?: unknown } } | null;
    const count = toNonNegativeInteger(b?.count ?? b?.resource?.count);
    if (count === undefined)
      throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'student count: no count in the answer', {
        retryable: false,
      });
    return count;
  }

  /** One page (1-based) of raw `tables.students` objects, sorted by DCID. Validate them with normaliseStudent. */
  async fetchStudentPage(scope: StudentScope, page: number, pageSize: number): Promise<unknown[]> {
    if (!Number.isInteger(page) || page < 1) throw new RangeError('page must be an integer ≥ 1');
    return this.tablePage(scopeQuery(scope), page, pageSize);
  }

  /**
   * Keyset paging, an alternative to page numbers: the next `pageSize` in-scope students with a
   * DCID above `afterDcid` (null: from the start). Immune to students added or removed behind the
   * cursor while a long read runs; pass the last DCID of the previous batch.
   */
  async fetchStudentsAfter(scope: StudentScope, afterDcid: string | null, pageSize: number): Promise<unknown[]> {
    if (afterDcid !== null && !/^\d{1,18}$/.test(afterDcid)) throw new RangeError('afterDcid must be a DCID');
    const q = afterDcid === null ? scopeQuery(scope) : `${scopeQuery(scope)};dcid=gt=${afterDcid}`;
    return this.tablePage(q, 1, pageSize);
  }

  private async tablePage(q: string, page: number, pageSize: number): Promise<unknown[]> {
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be an integer ≥ 1');
    const body = await this.getJson('/ws/schema/table/students', {
      projection: STUDENT_COLUMNS.join(','),
      q,
      page: String(page),
      pagesize: String(pageSize),
      sort: 'dcid',
    });
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'students page: the answer is not an object', {
        retryable: false,
      });
    // An empty page may leave out `record`; a lone record may come as an object (as in v1).
    const record = (body as { record?: unknown }).record;
    const records = record === undefined || record === null ? [] : Array.isArray(record) ? record : [record];
    return records.map((r) => {
      const students = (r as { tables?: { students?: unknown } } | null)?.tables?.students;
      return students !== undefined ? students : r;
    });
  }

  /**
   * Counts, then reads page after page until the computed last page, a short page or an empty
   * page, whichever comes first. Rows whose DCID was already yielded are dropped (records shifting
   * between pages). Holds one page of rows at a time (plus the set of DCIDs seen).
   *
   * Reporting: `onPage` gets a `{kind: 'page'}` object per page and a final `{kind: 'done'}`
   * summary; the same ReadSummary is the generator's return value. `countMismatch` is true when the
   * distinct rows received differ from the count (students added or removed during the read).
   */
  async *readAllStudents(
    scope: StudentScope,
    onPage?: (info: ReadProgress) => void,
    options: ReadOptions = {},
  ): AsyncGenerator<{ page: number; rows: unknown[] }, ReadSummary, undefined> {
    const pageSize = options.pageSize ?? (await this.getMaxPageSize());
    const expectedCount = await this.countStudents(scope);
    const pagesTotal = Math.ceil(expectedCount / pageSize);
    const seen = new Set<string>();
    let duplicates = 0;
    let pagesFetched = 0;

    for (let page = 1; page <= pagesTotal; page++) {
      const raw = await this.fetchStudentPage(scope, page, pageSize);
      pagesFetched++;
      if (raw.length === 0) break;
      const rows: unknown[] = [];
      let duplicatesOnPage = 0;
      for (const row of raw) {
        const dcid = dcidKey(row);
        if (dcid !== null) {
          if (seen.has(dcid)) {
            duplicatesOnPage++;
            continue;
          }
          seen.add(dcid);
        }
        rows.push(row);
      }
      duplicates += duplicatesOnPage;
      onPage?.({
        kind: 'page',
        page,
        pagesTotal,
        pageSize,
        rows: rows.length,
        duplicatesOnPage,
        rowsSoFar: seen.size,
        expectedCount,
      });
      yield { page, rows };
      if (raw.length < pageSize) break;
    }

    const summary: ReadSummary = {
      expectedCount,
      received: seen.size,
      duplicates,
      pagesFetched,
      pagesTotal,
      pageSize,
      countMismatch: seen.size !== expectedCount,
    };
    if (summary.countMismatch)
      this.logger?.warn(
        { expected: expectedCount, received: seen.size, duplicates },
        'PowerSchool returned a different number of students than it counted (records changed during the read)',
      );
    onPage?.({ kind: 'done', ...summary });
    return summary;
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private async getJson(path: string, query: Record<string, string>): Promise<unknown> {
    const url = new URL(this.serverUrl + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return this.withRetries(`GET ${path}`, () => this.authorisedGet(url, path));
  }

  /** Retries retryable errors with exponential backoff (Retry-After when given and short), then throws. */
  private async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        const error = err instanceof PowerSchoolError ? err : null;
        if (!error || !error.retryable || n >= this.maxAttempts) throw err;
        // A server asking for longer than we wait here gets its full wait from the caller (a
        // Temporal retry after nextRetryDelay): retrying sooner would only be refused again.
        if (error.retryAfterMs !== undefined && error.retryAfterMs > this.maxRetryDelayMs) throw err;
        const backoff = this.retryBaseDelayMs * 2 ** (n - 1) * (0.8 + Math.random() * 0.4);
        const delay = error.retryAfterMs ?? Math.min(this.maxRetryDelayMs, backoff);
        this.logger?.warn(
          { what, code: error.code, status: error.status, attempt: n, delayMs: Math.round(delay) },
          'PowerSchool request failed; retrying',
        );
        await sleep(delay, this.signal);
      }
    }
  }

  /** A data call with the cached token; on 401, one fresh token and one more try. */
  private async authorisedGet(url: URL, path: string): Promise<unknown> {
    const what = `GET ${path}`;
    let token = await this.token();
    let res = await this.send({ method: 'GET', url, headers: this.dataHeaders(token) });
    if (res.status === 401) {
      invalidateToken(this.tokenKey, token.accessToken);
      this.logger?.debug({ what }, 'PowerSchool token refused; re-authenticating once');
      token = await this.token();
      res = await this.send({ method: 'GET', url, headers: this.dataHeaders(token) });
      if (res.status === 401) {
        invalidateToken(this.tokenKey, token.accessToken);
        throw new PowerSchoolError('POWERSCHOOL_AUTH_FAILED', `${what}: a fresh token was refused too (401)`, {
          retryable: false,
          status: 401,
        });
      }
    }
    if (res.status < 200 || res.status >= 300) throw errorForStatus(res, what);
    return parseJsonBody(res, what);
  }

  private dataHeaders(token: CachedToken): Record<string, string> {
    return { authorization: `Bearer ${token.accessToken}`, accept: 'application/json' };
  }

  private token(): Promise<CachedToken> {
    return getToken(this.tokenKey, () => this.requestToken());
  }

  private async requestToken(): Promise<CachedToken> {
    const what = 'POST /oauth/access_token';
    const { clientId, clientSecret } = this.credentials;
    const basic = Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64');
    const requestedAt = Date.now();
    const res = await this.send({
      method: 'POST',
      url: new URL(`${this.serverUrl}/oauth/access_token`),
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
        accept: 'application/json',
      },
      body: 'grant_type=client_credentials',
    });
    if (res.status === 400 || res.status === 401 || res.status === 403)
      // Wrong client id or secret: trying again will not help.
      throw new PowerSchoolError('POWERSCHOOL_AUTH_FAILED', `${what}: PowerSchool refused the client credentials`, {
        retryable: false,
        status: res.status,
      });
    if (res.status < 200 || res.status >= 300) throw errorForStatus(res, what);
    const body = parseJsonBody(res, what) as { access_token?: unknown; expires_in?: unknown } | null;
    const accessToken = body?.access_token;
    if (typeof accessToken !== 'string' || accessToken === '')
      throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', `${what}: no access_token in the answer`, {
        retryable: false,
      });
    // expires_in is a string of seconds on real servers; a number elsewhere; absent → assume 1 hour.
    const seconds = Number(body?.expires_in ?? 3600);
    const lifetimeMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 3600_000;
    return { accessToken, useUntil: requestedAt + lifetimeMs - safetyMarginMs(lifetimeMs) };
  }

  private send(req: { method: 'GET' | 'POST'; url: URL; headers: Record<string, string>; body?: string }) {
    assertAllowedUrl(req.url, this.allowInsecure);
    return inPoliteSlot(this.schoolKey, this.minIntervalMs, (): Promise<HttpResponse> =>
      sendHttp({
        ...req,
        timeoutMs: this.timeoutMs,
        allowInsecure: this.allowInsecure,
        ...(this.signal ? { signal: this.signal } : {}),
      }),
    );
  }
}

function dcidKey(row: unknown): string | null {
  const dcid = (row as { dcid?: unknown } | null)?.dcid;
  if (typeof dcid === 'number' && Number.isFinite(dcid)) return String(dcid);
  if (typeof dcid === 'string' && dcid.trim() !== '') return dcid.trim().replace(/\.0*$/, '');
  return null;
}
