// One HTTP exchange with PowerSchool over node:http(s): keep-alive agents, a deadline, network errors classified.
import http from 'node:http';
import https from 'node:https';
import { PowerSchoolError } from './errors.js';
import { createGuardedLookup, ForbiddenAddressError, guardedLookup, hostProblem } from './ssrf.js';

/**
 * One HTTP exchange with PowerSchool over node:http(s) with keep-alive agents. Every request has
 * a deadline covering connect, headers and body. Network failures come back as classified
 * PowerSchoolErrors; HTTP statuses are returned as they are (the client classifies those).
 */

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  allowInsecure: boolean;
  /** Cancels the request (e.g. a cancelled Temporal activity); rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Responses larger than this are refused: a page of 1,000 students is well under 1 MB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

// Idle pooled sockets are closed after 4 s: servers and load balancers often drop idle connections
// sooner than a minute, and reusing a dead socket costs a retry. Active requests have their own deadline.
const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 16, maxFreeSockets: 4, timeout: 4_000 };
// The guarded agents refuse internal addresses at connect time; the open ones are for
// development and tests against a local simulator (allowInsecure), and still refuse link-local
// and cloud metadata addresses.
const guardedHttps = new https.Agent({ ...agentOptions, lookup: guardedLookup });
const insecureLookup = createGuardedLookup({ insecure: true });
const openHttps = new https.Agent({ ...agentOptions, lookup: insecureLookup });
const openHttp = new http.Agent({ ...agentOptions, lookup: insecureLookup });

function agentFor(url: URL, allowInsecure: boolean): http.Agent {
  if (url.protocol === 'http:') return openHttp;
  return allowInsecure ? openHttps : guardedHttps;
}

/** Refuses what the guard can decide before any I/O: plain http, literal internal IPs, metadata names. */
export function assertAllowedUrl(url: URL, allowInsecure: boolean): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new PowerSchoolError('POWERSCHOOL_INSECURE_URL', `unsupported protocol ${url.protocol}`, {
      retryable: false,
    });
  if (!allowInsecure && url.protocol !== 'https:')
    throw new PowerSchoolError('POWERSCHOOL_INSECURE_URL', 'PowerSchool URL must use https', { retryable: false });
  // net.connect skips the lookup for a literal IP, so literal addresses are checked here.
  const problem = hostProblem(url.hostname, { insecure: allowInsecure });
  if (problem)
    throw new PowerSchoolError(
      'POWERSCHOOL_INSECURE_URL',
      `PowerSchool URL points to an internal address (${problem})`,
      {
        retryable: false,
      },
    );
}

const UNREACHABLE_NON_RETRYABLE = new Set(['ENOTFOUND']);
const UNREACHABLE_RETRYABLE = new Set(['EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** Maps a socket-level failure to our error classes. */
function classifyNetworkError(err: unknown, what: string): PowerSchoolError {
  if (err instanceof PowerSchoolError) return err;
  if (err instanceof ForbiddenAddressError)
    return new PowerSchoolError('POWERSCHOOL_INSECURE_URL', `${what}: ${err.message}`, { retryable: false });
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (UNREACHABLE_NON_RETRYABLE.has(code))
    return new PowerSchoolError('POWERSCHOOL_UNREACHABLE', `${what}: host not found (${code})`, {
      retryable: false,
      cause: err,
    });
  if (UNREACHABLE_RETRYABLE.has(code))
    return new PowerSchoolError('POWERSCHOOL_UNREACHABLE', `${what}: cannot connect (${code})`, {
      retryable: true,
      cause: err,
    });
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT')
    return new PowerSchoolError('POWERSCHOOL_UNREACHABLE', `${what}: TLS failure (${code})`, {
      retryable: false,
      cause: err,
    });
  // ECONNRESET, EPIPE, "socket hang up", aborted bodies: the connection dropped mid-exchange.
  return new PowerSchoolError('POWERSCHOOL_UNAVAILABLE', `${what}: connection dropped (${code || 'no code'})`, {
    retryable: true,
    cause: err,
  });
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Marks a request ended by the caller's AbortSignal (rejected with the signal's own reason). */
const ABORTED = Symbol('aborted');

export function sendHttp(req: HttpRequest): Promise<HttpResponse> {
  const what = `${req.method} ${req.url.pathname}`;
  try {
    assertAllowedUrl(req.url, req.allowInsecure);
  } catch (err) {
    return Promise.reject(err);
  }
  const transport = req.url.protocol === 'https:' ? https : http;
  if (req.signal?.aborted) return Promise.reject(req.signal.reason);
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (err) {
        if (err === ABORTED) reject(req.signal?.reason);
        else if (err instanceof TimeoutError)
          reject(
            new PowerSchoolError('POWERSCHOOL_UNAVAILABLE', `${what}: no complete answer within ${req.timeoutMs} ms`, {
              retryable: true,
            }),
          );
        else reject(classifyNetworkError(err, what));
      } else resolve(res!);
    };
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const request = transport.request(req.url, {
      method: req.method,
      headers,
      agent: agentFor(req.url, req.allowInsecure),
    });
    const timer = setTimeout(() => {
      const err = new TimeoutError('timeout');
      finish(err);
      request.destroy(err);
    }, req.timeoutMs);
    const onAbort = () => {
      finish(ABORTED);
      request.destroy();
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (err) => finish(err));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy();
          finish(
            new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', `${what}: response larger than ${MAX_BODY_BYTES} bytes`, {
              retryable: false,
              status: response.statusCode,
            }),
          );
          return;
        }
        chunks.push(chunk);
      });
      response.on('aborted', () => finish(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      response.on('error', (err) => finish(err));
      response.on('end', () => {
        if (!response.complete) {
          finish(Object.assign(new Error('response incomplete'), { code: 'ECONNRESET' }));
          return;
        }
        finish(null, {
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.end(req.body);
  });
}
