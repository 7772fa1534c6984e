// The contract's error shape for every failure (ours, zod's and Fastify's own) and the one place that answers with it.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { httpStatusOf, type ApiErrorCode, type HttpStatusOf } from '../shared/codes.js';

/**
 * The contract's error shape, for every failure: ours, zod's and Fastify's own.
 * `{"error": {"code": "...", "message": "...", "details": [...]}}`
 */

/** The codes and their HTTP statuses live in shared/codes.ts. */
export type ErrorCode = ApiErrorCode;

export type ErrorDetail = Record<string, unknown>;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}

export class ApiError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'ApiError';
  /** The status must be the code's own in the registry: `new ApiError(404, 'RUN_IN_PROGRESS', …)` does not compile. */
  constructor(
    readonly statusCode: HttpStatusOf<C>,
    readonly code: C,
    message: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. `Allow` on a 405. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const validationFailed = (path: string, message: string) =>
  new ApiError(400, 'VALIDATION_FAILED', 'The request is invalid', [{ path, message }]);

export const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`);

const CONTEXT_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

interface ValidationItem {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** zod issues → `[{path: "grades.from", message}]`; unknown keys get one entry each. */
function validationDetails(items: ValidationItem[], context: string | undefined): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const item of items) {
    const base = (item.instancePath ?? '').split('/').filter(Boolean).join('.');
    const keys = item.keyword === 'unrecognized_keys' && Array.isArray(item.params?.keys) ? item.params.keys : null;
    if (keys) {
      for (const k of keys) details.push({ path: base ? `${base}.${String(k)}` : String(k), message: 'unknown field' });
      continue;
    }
    details.push({ path: base || CONTEXT_NAMES[context ?? ''] || '', message: item.message ?? 'invalid' });
  }
  return details.slice(0, 50);
}

const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The body is empty but Content-Type is application/json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Content-Type must be application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
  FST_ERR_CTP_INVALID_TYPE: 'Content-Type is invalid',
  FST_ERR_BAD_URL: 'The URL is malformed',
};

/** Maps any thrown error to the status and body we answer with. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof ApiError) return { status: err.statusCode, body: err.toBody(), internal: false };
  const e = err as Partial<FastifyError> & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(err) || Array.isArray(e.validation)) {
    const details = validationDetails((e.validation ?? []) as ValidationItem[], e.validationContext);
    return {
      status: 400,
      body: new ApiError(400, 'VALIDATION_FAILED', 'The request is invalid', details).toBody(),
      internal: false,
    };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  const simple = (code: ErrorCode, message: string) => ({
    status: httpStatusOf(code),
    body: { error: { code, message } },
    internal: false,
  });
  if (status === 413) return simple('PAYLOAD_TOO_LARGE', 'The body is larger than the limit');
  if (status === 404) return simple('NOT_FOUND', 'Not found');
  if (status === 405) return simple('METHOD_NOT_ALLOWED', 'Method not allowed');
  if (status === 429) return simple('RATE_LIMITED', 'Too many requests; slow down');
  if (status === 401) return simple('UNAUTHORIZED', 'A valid bearer token is required');
  if (status >= 400 && status < 500) {
    // Anything else the client got wrong (bad JSON, wrong media type, proto poisoning…) is a 400.
    return simple('VALIDATION_FAILED', FASTIFY_MESSAGES[e.code ?? ''] ?? 'The request is invalid');
  }
  return { ...simple('INTERNAL', 'Internal error'), internal: true };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body, internal } = toErrorResponse(err);
  if (internal) request.log.error({ err }, 'request failed');
  else if (status >= 400) request.log.info({ code: body.error.code, status }, 'request refused');
  if (err instanceof ApiError && err.headers) reply.headers(err.headers);
  // Sent as text: a route's documented error schema must never turn an error into a 500 on the way
  // out (test/api/openapi-responses.test.ts holds the document to what is sent).
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}
