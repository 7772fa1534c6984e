// Authorised requests to one school: cached token, one re-authentication on 401, retries, politeness, SSRF check.
import { createHash } from 'node:crypto';
import { errorForStatus, parseJsonBody } from './classify.js';
import { PowerSchoolError } from './errors.js';
import { assertAllowedUrl, sendHttp, type HttpResponse } from './http.js';
import { requestToken, type PowerSchoolCredentials } from './oauth.js';
import { inPoliteSlot } from './politeness.js';
import { outcomeOfFailure, outcomeOfStatus, type PowerSchoolRequestObserver } from './request-outcome.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { getToken, invalidateToken, refreshToken, type CachedToken } from './token-cache.js';
import type { Log } from '../logging/log.js';

export interface SessionOptions extends RetryPolicy {
  credentials: PowerSchoolCredentials;
  allowInsecure: boolean;
  timeoutMs: number;
  minIntervalMs: number;
  logger?: Log | undefined;
  /** Told the outcome of every HTTP exchange, retries included (the worker's metrics). */
  onRequest?: PowerSchoolRequestObserver | undefined;
}

/** Server URL without trailing slashes; path prefixes (a PowerSchool behind /ps) are kept. */
function normaliseServerUrl(serverUrl: string): string {
  return serverUrl.trim().replace(/\/+$/, '');
}

export class PowerSchoolSession {
  private readonly serverUrl: string;
  /** One in-flight request per school: the politeness key. */
  private readonly schoolKey: string;
  /** Token cache key: includes a fingerprint of the secret, so a changed secret is re-checked. */
  private readonly tokenKey: string;

  constructor(private readonly options: SessionOptions) {
    const { credentials } = options;
    this.serverUrl = normaliseServerUrl(credentials.serverUrl);
    this.schoolKey = `${this.serverUrl}\u0000${credentials.clientId}`;
    const fingerprint = createHash('sha256').update(credentials.clientSecret).digest('base64url').slice(0, 16);
    this.tokenKey = `${this.schoolKey}\u0000${fingerprint}`;
  }

  /** A real token request, never the cached token, so changed credentials are checked now. */
  async checkCredentials(): Promise<void> {
    await withRetries(
      'POST /oauth/access_token',
      () => refreshToken(this.tokenKey, () => this.newToken()),
      this.options,
    );
  }

  /** GET `path` with `query`, retried as the policy says; the parsed JSON answer. */
  getJson(path: string, query: Record<string, string>): Promise<unknown> {
    const url = new URL(this.serverUrl + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return withRetries(`GET ${path}`, () => this.authorisedGet(url, path), this.options);
  }

  /** A data call with the cached token; on 401, one fresh token and one more try. */
  private async authorisedGet(url: URL, path: string): Promise<unknown> {
    const what = `GET ${path}`;
    let token = await this.token();
    let res = await this.send({ method: 'GET', url, headers: dataHeaders(token) });
    if (res.status === 401) {
      invalidateToken(this.tokenKey, token.accessToken);
      this.options.logger?.debug({ what }, 'PowerSchool token refused; re-authenticating once');
      token = await this.token();
      res = await this.send({ method: 'GET', url, headers: dataHeaders(token) });
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

  private token(): Promise<CachedToken> {
    return getToken(this.tokenKey, () => this.newToken());
  }

  private newToken(): Promise<CachedToken> {
    return requestToken(this.serverUrl, this.options.credentials, (req) => this.send(req));
  }

  private send(req: { method: 'GET' | 'POST'; url: URL; headers: Record<string, string>; body?: string }) {
    const { allowInsecure, timeoutMs, minIntervalMs, signal, onRequest } = this.options;
    assertAllowedUrl(req.url, allowInsecure);
    return inPoliteSlot(this.schoolKey, minIntervalMs, (): Promise<HttpResponse> =>
      sendHttp({ ...req, timeoutMs, allowInsecure, ...(signal ? { signal } : {}) }).then(
        (res) => {
          onRequest?.(outcomeOfStatus(res.status));
          return res;
        },
        (err: unknown) => {
          onRequest?.(outcomeOfFailure(signal));
          throw err;
        },
      ),
    );
  }
}

function dataHeaders(token: CachedToken): Record<string, string> {
  return { authorization: `Bearer ${token.accessToken}`, accept: 'application/json' };
}
