// The client-credentials token request: one POST /oauth/access_token, answered as a CachedToken.
import { errorForStatus, parseJsonBody } from './classify.js';
import { PowerSchoolError } from './errors.js';
import type { HttpResponse } from './http.js';
import { safetyMarginMs, type CachedToken } from './token-cache.js';

export interface PowerSchoolCredentials {
  serverUrl: string;
  clientId: string;
  clientSecret: string;
}

type Send = (req: { method: 'POST'; url: URL; headers: Record<string, string>; body: string }) => Promise<HttpResponse>;

export async function requestToken(
  serverUrl: string,
  credentials: Pick<PowerSchoolCredentials, 'clientId' | 'clientSecret'>,
  send: Send,
): Promise<CachedToken> {
  const what = 'POST /oauth/access_token';
  const { clientId, clientSecret } = credentials;
  const basic = Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64');
  const requestedAt = Date.now();
  const res = await send({
    method: 'POST',
    url: new URL(`${serverUrl}/oauth/access_token`),
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
