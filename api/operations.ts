// Every operation's error codes, listed once: the OpenAPI document's error responses and the test that provokes them both read this.
import { z } from 'zod';
import { CODES, httpStatusOf, type ApiErrorCode } from '../shared/codes.js';

/** What every /v1 route can answer: a bad path parameter, no or a bad token, the rate limit, a failure of ours. */
const V1 = ['VALIDATION_FAILED', 'UNAUTHORIZED', 'RATE_LIMITED', 'INTERNAL'] as const;
/** Routes that parse a body (DELETE too, when one is sent) can also get one that is too large. */
const BODY = [...V1, 'PAYLOAD_TOO_LARGE'] as const;

/**
 * The error codes each operation (by its operationId) can answer with. The HTTP status of each
 * comes from shared/codes.ts, so a route's documented statuses follow from its codes.
 */
export const OPERATION_CODES = {
  putIntegration: BODY,
  getIntegration: [...V1, 'NOT_FOUND'],
  deleteIntegration: [...BODY, 'NOT_FOUND'],
  pauseIntegration: [...BODY, 'NOT_FOUND'],
  resumeIntegration: [...BODY, 'NOT_FOUND'],
  bulkPauseIntegrations: BODY,
  bulkResumeIntegrations: BODY,
  testConnection: [...BODY, 'NOT_FOUND', 'POWERSCHOOL_AUTH_FAILED', 'POWERSCHOOL_FORBIDDEN', 'POWERSCHOOL_UNREACHABLE'],
  listPowerSchoolSchools: [
    ...V1,
    'NOT_FOUND',
    'POWERSCHOOL_AUTH_FAILED',
    'POWERSCHOOL_FORBIDDEN',
    'POWERSCHOOL_UNREACHABLE',
  ],
  startRun: [...BODY, 'NOT_FOUND', 'INTEGRATION_INACTIVE', 'RUN_IN_PROGRESS'],
  approveRun: [...BODY, 'NOT_FOUND', 'RUN_NOT_HELD', 'TEMPORAL_UNAVAILABLE'],
  discardRun: [...BODY, 'NOT_FOUND', 'RUN_NOT_HELD', 'TEMPORAL_UNAVAILABLE'],
  listHeldRuns: V1,
  listRuns: V1,
  getRun: [...V1, 'NOT_FOUND'],
  listRunChanges: [...V1, 'NOT_FOUND'],
  listRunIssues: [...V1, 'NOT_FOUND'],
  getRunChangesCsv: [...V1, 'NOT_FOUND'],
  getRunIssuesCsv: [...V1, 'NOT_FOUND'],
  listStudents: V1,
  importStudents: [...BODY, 'NOT_FOUND'],
  unlinkStudent: [...BODY, 'NOT_FOUND', 'NOT_LINKED'],
  listMatchReviews: V1,
  resolveMatchReview: [...BODY, 'NOT_FOUND', 'REVIEW_RESOLVED'],
  reopenMatchReview: [...BODY, 'NOT_FOUND'],
  healthz: [],
  readyz: ['NOT_READY'],
} as const satisfies Record<string, readonly ApiErrorCode[]>;

export type OperationId = keyof typeof OPERATION_CODES;

/** One line per status for the document's response descriptions. */
const STATUS_TEXT: Record<number, string> = {
  400: 'The request is invalid (details name each field)',
  401: 'No valid bearer token',
  404: 'Not found',
  409: 'Refused: the school’s state does not allow it now',
  413: 'The body is larger than 64 KiB',
  422: 'PowerSchool refused or could not be reached',
  429: 'Too many requests; see Retry-After',
  500: 'Internal error',
  503: 'Unavailable: a dependency did not answer in time',
};

/** The contract's one error shape, with `code` narrowed to the given codes. */
export function errorSchema(codes: readonly [ApiErrorCode, ...ApiErrorCode[]]) {
  return z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      details: z.array(z.record(z.string(), z.unknown())).optional(),
    }),
  });
}

/** The operation's error responses by status, for a route's `schema.response`. */
export function errorResponses(operation: OperationId): Record<number, z.ZodType> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of OPERATION_CODES[operation] as readonly ApiErrorCode[]) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, z.ZodType> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = errorSchema(codes as [ApiErrorCode, ...ApiErrorCode[]]).describe(
      `${STATUS_TEXT[status] ?? 'Error'}: ${codes.join(', ')}`,
    );
  }
  return responses;
}

/** The statuses and codes an operation documents, for tests. */
export function documentedCodes(operation: OperationId): Array<{ status: number; code: ApiErrorCode }> {
  return (OPERATION_CODES[operation] as readonly ApiErrorCode[]).map((code) => ({
    status: CODES[code].http as number,
    code,
  }));
}
