import { describe, expect, expectTypeOf, it } from 'vitest';
import { ApiError, toErrorResponse } from '../../api/errors.js';
import { remedyFor } from '../../email/compose.js';
import {
  CODES,
  httpStatusOf,
  isCode,
  SCHOOL_ACTION_CODES,
  type ApiErrorCode,
  type PowerSchoolErrorCode,
  type RunFailureCode,
} from '../../shared/codes.js';

const GENERIC = 'The next scheduled run will try again.';

describe('error code registry', () => {
  it('gives every code the contract lists its HTTP status', () => {
    expect({
      VALIDATION_FAILED: httpStatusOf('VALIDATION_FAILED'),
      UNAUTHORIZED: httpStatusOf('UNAUTHORIZED'),
      NOT_FOUND: httpStatusOf('NOT_FOUND'),
      METHOD_NOT_ALLOWED: httpStatusOf('METHOD_NOT_ALLOWED'),
      INTEGRATION_INACTIVE: httpStatusOf('INTEGRATION_INACTIVE'),
      RUN_IN_PROGRESS: httpStatusOf('RUN_IN_PROGRESS'),
      PAYLOAD_TOO_LARGE: httpStatusOf('PAYLOAD_TOO_LARGE'),
      RATE_LIMITED: httpStatusOf('RATE_LIMITED'),
      POWERSCHOOL_UNREACHABLE: httpStatusOf('POWERSCHOOL_UNREACHABLE'),
      POWERSCHOOL_AUTH_FAILED: httpStatusOf('POWERSCHOOL_AUTH_FAILED'),
      POWERSCHOOL_FORBIDDEN: httpStatusOf('POWERSCHOOL_FORBIDDEN'),
      INTERNAL: httpStatusOf('INTERNAL'),
    }).toEqual({
      VALIDATION_FAILED: 400,
      UNAUTHORIZED: 401,
      NOT_FOUND: 404,
      METHOD_NOT_ALLOWED: 405,
      INTEGRATION_INACTIVE: 409,
      RUN_IN_PROGRESS: 409,
      PAYLOAD_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      POWERSCHOOL_UNREACHABLE: 422,
      POWERSCHOOL_AUTH_FAILED: 422,
      POWERSCHOOL_FORBIDDEN: 422,
      INTERNAL: 500,
    });
  });

  it('Fastify errors are answered with the registry status of the code chosen for them', () => {
    for (const [status, code] of [
      [413, 'PAYLOAD_TOO_LARGE'],
      [404, 'NOT_FOUND'],
      [405, 'METHOD_NOT_ALLOWED'],
      [429, 'RATE_LIMITED'],
      [401, 'UNAUTHORIZED'],
      [415, 'VALIDATION_FAILED'],
      [502, 'INTERNAL'],
    ] as const) {
      const res = toErrorResponse(Object.assign(new Error('x'), { statusCode: status }));
      expect(res.body.error.code).toBe(code);
      expect(res.status).toBe(CODES[code].http);
    }
  });

  it('an ApiError must carry its code’s own status (checked by the compiler)', () => {
    expect(new ApiError(409, 'RUN_IN_PROGRESS', 'busy').statusCode).toBe(409);
    // @ts-expect-error RUN_IN_PROGRESS is a 409 in the registry
    void new ApiError(404, 'RUN_IN_PROGRESS', 'busy');
    // @ts-expect-error TIMEOUT is never an API answer
    void new ApiError(500, 'TIMEOUT', 'late');
  });

  it('derives the code families from the entries', () => {
    expectTypeOf<'POWERSCHOOL_AUTH_FAILED'>().toExtend<PowerSchoolErrorCode & RunFailureCode & ApiErrorCode>();
    expectTypeOf<'EMAIL_REJECTED'>().not.toExtend<RunFailureCode | ApiErrorCode>();
    expectTypeOf<'CANCELLED'>().not.toExtend<RunFailureCode>();
    // The workflow's non-retryable list: the codes that need the school to act.
    expect(SCHOOL_ACTION_CODES).toEqual([
      'POWERSCHOOL_AUTH_FAILED',
      'POWERSCHOOL_FORBIDDEN',
      'POWERSCHOOL_INSECURE_URL',
      'POWERSCHOOL_NOT_FOUND',
      'INVALID_SETTINGS',
      'INTEGRATION_NOT_FOUND',
    ]);
  });

  it('isCode knows only the registry’s own keys', () => {
    expect(isCode('RUN_IN_PROGRESS')).toBe(true);
    expect(isCode('constructor')).toBe(false);
    expect(isCode('run_in_progress')).toBe(false);
  });
});

describe('email remedies (derived from the registry)', () => {
  it('every code a run can fail with has a remedy; school-side codes have a specific one', () => {
    const failing = (Object.keys(CODES) as Array<keyof typeof CODES>).filter((c) =>
      ['failed', 'failed or cancelled'].includes(String(CODES[c].run)),
    );
    expect(failing.length).toBeGreaterThan(10);
    for (const code of failing) expect(typeof remedyFor(code)).toBe('string');
    for (const code of SCHOOL_ACTION_CODES) expect(remedyFor(code)).not.toBe(GENERIC);
  });

  it('an unknown, missing or prototype-named code gets the generic remedy', () => {
    for (const code of [null, '', 'SOMETHING_NEW', 'constructor', 'toString', '__proto__']) {
      expect(remedyFor(code)).toBe(GENERIC);
    }
  });
});
