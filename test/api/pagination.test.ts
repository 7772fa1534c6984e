import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors.js';
import { decodeCursor, encodeCursor } from '../../api/pagination.js';

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError');
}

describe('cursors', () => {
  it('round-trip the sort key of each list', () => {
    const runs = ['2026-11-30T02:00:00.123456Z', 'powerschool-sync-s1-manual-1'];
    expect(decodeCursor('runs', encodeCursor('runs', runs))).toEqual(runs);
    for (const kind of ['changes', 'issues', 'students'] as const) {
      expect(decodeCursor(kind, encodeCursor(kind, ['12345']))).toEqual(['12345']);
    }
  });

  it('are opaque base64url', () => {
    expect(encodeCursor('students', ['42'])).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('from one list are refused by another, as a 400 on `cursor`', () => {
    const err = refusal(() => decodeCursor('students', encodeCursor('changes', ['1'])));
    expect(err.statusCode).toBe(400);
    expect(err.toBody()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'The request is invalid',
        details: [{ path: 'cursor', message: 'is not a cursor this list gave out' }],
      },
    });
  });

  it.each([
    ['not base64url', 'students', '!!!'],
    ['not JSON', 'students', Buffer.from('{nope').toString('base64url')],
    ['not an array', 'students', Buffer.from('{"kind":"students"}').toString('base64url')],
    ['a non-numeric key', 'students', encodeCursor('students', ['12a'])],
    ['a key too long', 'issues', encodeCursor('issues', ['1'.repeat(21)])],
    ['a key too many', 'students', encodeCursor('students', ['1', '2'])],
    ['a runs timestamp without microseconds', 'runs', encodeCursor('runs', ['2026-11-30T02:00:00Z', 'r1'])],
    ['a runs timestamp with an offset', 'runs', encodeCursor('runs', ['2026-11-30T02:00:00.123456+01:00', 'r1'])],
    ['an empty runs id', 'runs', encodeCursor('runs', ['2026-11-30T02:00:00.123456Z', ''])],
    ['empty', 'runs', ''],
  ] as const)('refuses %s', (_what, kind, cursor) => {
    expect(refusal(() => decodeCursor(kind, cursor)).code).toBe('VALIDATION_FAILED');
  });
});
