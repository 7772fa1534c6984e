// The simulator's OAuth: client-credentials tokens issued at /oauth/access_token and checked on data calls.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Lifetime of issued tokens by default: 30 days, as PowerSchool. */
const DEFAULT_TOKEN_LIFETIME_S = 30 * 24 * 3600;

interface IssuedToken {
  clientId: string;
  expiresAt: number;
  dataCalls: number;
}

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  tokenLifetimeSeconds?: number | undefined;
  /** How `expires_in` is written: a string of seconds like PowerSchool (default) or a number. */
  expiresInAs?: 'string' | 'number' | undefined;
}

function secretEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The 401 PowerSchool answers for an expired or revoked token. */
export function sendTokenExpired(reply: FastifyReply): void {
  void reply
    .code(401)
    .header('www-authenticate', 'Bearer error="invalid_token", error_description="The access token expired"')
    .send({ message: 'Authentication failed' });
}

export class TokenIssuer {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly lifetimeMs: number;

  constructor(private readonly options: OAuthOptions) {
    this.lifetimeMs = (options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_S) * 1000;
  }

  register(app: FastifyInstance): void {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    const issue = (request: FastifyRequest, reply: FastifyReply) => this.issue(request, reply);
    app.post('/oauth/access_token', issue);
    app.post('/oauth/access_token/', issue);
  }

  /**
   * Checks a data call's bearer token and counts the call against it. `revoked`: the token had
   * served `revokeAfterCalls` calls and is now revoked (a fault the caller counts).
   */
  authorise(request: FastifyRequest, revokeAfterCalls?: number): 'ok' | 'invalid' | 'revoked' {
    const header = request.headers.authorization ?? '';
    const value = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const token = this.tokens.get(value);
    if (!token || token.expiresAt <= Date.now()) return 'invalid';
    token.dataCalls++;
    if (revokeAfterCalls && token.dataCalls > revokeAfterCalls) {
      this.tokens.delete(value);
      return 'revoked';
    }
    return 'ok';
  }

  revokeAll(): void {
    this.tokens.clear();
  }

  private async issue(request: FastifyRequest, reply: FastifyReply) {
    const { clientId, clientSecret, expiresInAs } = this.options;
    const header = request.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const id = colon >= 0 ? decoded.slice(0, colon) : '';
    const secret = colon >= 0 ? decoded.slice(colon + 1) : '';
    const body = (request.body ?? {}) as Record<string, string>;
    if (body.grant_type !== 'client_credentials')
      return reply
        .code(400)
        .send({ error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    if (id !== clientId || !secretEquals(secret, clientSecret))
      return reply.code(401).send({ error: 'invalid_client', error_description: 'Bad client credentials' });
    // Like PowerSchool: asking again returns the live token with its remaining lifetime.
    const now = Date.now();
    let token = [...this.tokens.entries()].find(([, t]) => t.clientId === id && t.expiresAt > now + 1000);
    if (!token) {
      const value = randomUUID();
      const issued: IssuedToken = { clientId: id, expiresAt: now + this.lifetimeMs, dataCalls: 0 };
      this.tokens.set(value, issued);
      token = [value, issued];
    }
    const remaining = Math.max(0, Math.floor((token[1].expiresAt - now) / 1000));
    return reply.send({
      access_token: token[0],
      token_type: 'Bearer',
      expires_in: expiresInAs === 'number' ? remaining : String(remaining),
    });
  }
}
