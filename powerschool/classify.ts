// Classifies a PowerSchool HTTP answer: parsed JSON, or a PowerSchoolError (status, Retry-After, denied fields).
import type { HttpResponse } from './http.js';
import { MAX_RETRY_AFTER_MS, PowerSchoolError } from './errors.js';

/** Turns a PowerSchool HTTP answer into parsed JSON or a classified PowerSchoolError. */

/** The `Retry-After` header as seconds or an HTTP date, in ms (capped); undefined when absent or unreadable. */
function retryAfterHeaderMs(res: Pick<HttpResponse, 'headers'>, now = Date.now()): number | undefined {
  const header = res.headers['retry-after'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Math.round(Number(trimmed) * 1000));
  const at = Date.parse(trimmed);
  if (!Number.isNaN(at)) return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
  return undefined;
}

/** For a 429: `Retry-After` as seconds or an HTTP date; failing that, a body that says how many seconds. */
export function parseRetryAfterMs(res: Pick<HttpResponse, 'headers' | 'body'>, now = Date.now()): number | undefined {
  const fromHeader = retryAfterHeaderMs(res, now);
  if (fromHeader !== undefined) return fromHeader;
  const body = tryParseJson(res.body);
  if (body && typeof body === 'object') {
    for (const key of ['retry_after', 'retryAfter', 'retry_after_seconds', 'seconds']) {
      const v = (body as Record<string, unknown>)[key];
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      if (Number.isFinite(n) && n >= 0) return Math.min(MAX_RETRY_AFTER_MS, Math.round(n * 1000));
    }
  }
  const text = typeof body === 'object' && body && 'message' in body ? String(body.message) : res.body;
  const m = /(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)/i.exec(text.slice(0, 2000));
  if (m) return Math.min(MAX_RETRY_AFTER_MS, Math.round(Number(m[1]) * 1000));
  return undefined;
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Field names from a `{"message":"Validation Failed","errors":[{"field":..,"code":"No access to the field"}]}` body. */
export function deniedFields(body: unknown): string[] | null {
  if (!body || typeof body !== 'object') return null;
  const errors = (body as { errors?: unknown }).errors;
  const list = Array.isArray(errors) ? errors : errors && typeof errors === 'object' ? [errors] : [];
  const fields: string[] = [];
  for (const e of list) {
    if (!e || typeof e !== 'object') continue;
    const { field, code, message } = e as { field?: unknown; code?: unknown; message?: unknown };
    const reason = `${typeof code === 'string' ? code : ''} ${typeof message === 'string' ? message : ''}`;
    if (/no access/i.test(reason) && typeof field === 'string') fields.push(field.toLowerCase());
  }
  return fields.length > 0 ? [...new Set(fields)] : null;
}

/** For anything but 2xx and 401 (which the client handles by re-authenticating). */
export function errorForStatus(res: HttpResponse, what: string): PowerSchoolError {
  const status = res.status;
  const body = tryParseJson(res.body);
  const denied = status === 400 || status === 403 ? deniedFields(body) : null;
  if (denied)
    return new PowerSchoolError(
      'POWERSCHOOL_FORBIDDEN',
      `${what}: the plugin has no access to ${denied.join(', ')}; grant ViewOnly access to these fields in plugin.xml`,
      { retryable: false, fields: denied, status },
    );
  if (status === 401)
    return new PowerSchoolError('POWERSCHOOL_AUTH_FAILED', `${what}: PowerSchool refused the credentials (401)`, {
      retryable: false,
      status,
    });
  if (status === 403)
    return new PowerSchoolError('POWERSCHOOL_FORBIDDEN', `${what}: access denied (403); is the plugin enabled?`, {
      retryable: false,
      fields: [],
      status,
    });
  if (status === 404)
    return new PowerSchoolError('POWERSCHOOL_NOT_FOUND', `${what}: not found (404)`, { retryable: false, status });
  if (status === 429) {
    const retryAfterMs = parseRetryAfterMs(res);
    return new PowerSchoolError('POWERSCHOOL_RATE_LIMITED', `${what}: rate limited (429)`, {
      retryable: true,
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (status >= 500 || status === 408) {
    // A 503 may say when to come back (maintenance); only its header counts: a 5xx body's
    // "… 30 seconds …" is more likely a stack trace than advice.
    const retryAfterMs = status === 503 ? retryAfterHeaderMs(res) : undefined;
    return new PowerSchoolError('POWERSCHOOL_UNAVAILABLE', `${what}: PowerSchool answered ${status}`, {
      retryable: true,
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  return new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', `${what}: unexpected status ${status}`, {
    retryable: false,
    status,
  });
}

export function parseJsonBody(res: HttpResponse, what: string): unknown {
  const body = tryParseJson(res.body);
  if (body === undefined)
    throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', `${what}: the answer is not JSON`, {
      retryable: false,
      status: res.status,
    });
  return body;
}
