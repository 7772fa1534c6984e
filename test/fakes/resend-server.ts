import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Resend's HTTP API, as much of it as our notifications use: `POST /emails`
 * with a bearer key, JSON body, and the `Idempotency-Key` header. Point the resend SDK at it with
 * RESEND_BASE_URL / `new Resend(key, { baseUrl })`.
 *
 * It records every request, delivers each idempotency key once (a repeated key gets the first
 * answer's id back and delivers nothing), and can be told to fail the next calls — either
 * before accepting the email, or after accepting it (the email goes out but the caller sees an
 * error: the case where only the idempotency key prevents a second email).
 */

export interface ResendRequest {
  idempotencyKey: string | null;
  authorization: string | null;
  body: Record<string, unknown> | null;
  status: number;
}

export interface ResendDelivery {
  id: string;
  idempotencyKey: string | null;
  from: string;
  to: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
}

export interface FailureMode {
  /** HTTP status to answer (default 500). */
  status?: number;
  /** 'before': nothing is delivered; 'after': the email is delivered, then the error is answered. */
  when?: 'before' | 'after';
}

export interface ResendFake {
  url: string;
  apiKey: string;
  requests: ResendRequest[];
  deliveries: ResendDelivery[];
  /** The next `count` calls to POST /emails fail as described. */
  failNext(count: number, mode?: FailureMode): void;
  close(): Promise<void>;
}

const ERROR_NAMES: Record<number, string> = {
  400: 'validation_error',
  401: 'missing_api_key',
  403: 'invalid_api_key',
  422: 'validation_error',
  429: 'rate_limit_exceeded',
  500: 'application_error',
  503: 'application_error',
};

export async function startResendFake(options: { apiKey?: string } = {}): Promise<ResendFake> {
  const apiKey = options.apiKey ?? `re_test_${randomUUID().slice(0, 8)}`;
  const requests: ResendRequest[] = [];
  const deliveries: ResendDelivery[] = [];
  const byKey = new Map<string, string>();
  let failures: { remaining: number; mode: Required<FailureMode> } = {
    remaining: 0,
    mode: { status: 500, when: 'before' },
  };

  function answer(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
  function error(res: ServerResponse, status: number, message: string): void {
    answer(res, status, { statusCode: status, message, name: ERROR_NAMES[status] ?? 'application_error' });
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/emails') return error(res, 404, 'Not found');
      const body = await readJson(req);
      const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null;
      const authorization = req.headers.authorization ?? null;
      const record = (status: number) => requests.push({ idempotencyKey, authorization, body, status });

      if (authorization !== `Bearer ${apiKey}`) {
        record(401);
        return error(res, 401, 'API key is invalid');
      }
      const failing = failures.remaining > 0 ? failures.mode : null;
      if (failing) failures.remaining--;
      if (failing?.when === 'before') {
        record(failing.status);
        return error(res, failing.status, 'Simulated failure');
      }
      const to = typeof body?.to === 'string' ? [body.to] : Array.isArray(body?.to) ? (body.to as string[]) : [];
      if (!body || typeof body.from !== 'string' || to.length === 0 || typeof body.subject !== 'string') {
        record(422);
        return error(res, 422, 'Missing `from`, `to` or `subject`');
      }
      let id = idempotencyKey ? byKey.get(idempotencyKey) : undefined;
      if (!id) {
        id = randomUUID();
        if (idempotencyKey) byKey.set(idempotencyKey, id);
        deliveries.push({
          id,
          idempotencyKey,
          from: body.from,
          to,
          subject: body.subject,
          text: typeof body.text === 'string' ? body.text : undefined,
          html: typeof body.html === 'string' ? body.html : undefined,
        });
      }
      if (failing?.when === 'after') {
        record(failing.status);
        return error(res, failing.status, 'Simulated failure after accepting the email');
      }
      record(200);
      return answer(res, 200, { id });
    })().catch(() => error(res, 500, 'fake failed'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    deliveries,
    failNext(count, mode = {}) {
      failures = { remaining: count, mode: { status: mode.status ?? 500, when: mode.when ?? 'before' } };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
