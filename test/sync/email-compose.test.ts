import { describe, expect, it } from 'vitest';
import { composeRunEmail, type RunEmailInput } from '../../email/compose.js';

/** The run summary email tells the school only what is true and what it can do. */
describe('run summary email', () => {
  const failedRun = (errorCode: string | null): RunEmailInput['run'] => ({
    id: 'powerschool-sync-s1-manual-1',
    school_id: 's1',
    test_run: false,
    status: 'failed',
    trigger: 'manual',
    started_at: new Date('2026-11-30T02:00:00Z'),
    finished_at: new Date('2026-11-30T02:05:00Z'),
    records_total: 100,
    count_fetched: 40,
    count_created: 0,
    count_updated: 0,
    count_unchanged: 0,
    count_invalid: 0,
    count_missing: 0,
    error_code: errorCode,
    error_message: 'something went wrong',
  });

  // No alerting exists: a failure email must not promise that anyone was told.
  it.each(['INTERNAL', 'TIMEOUT', 'CANCELLED', null, 'POWERSCHOOL_UNAVAILABLE', 'POWERSCHOOL_AUTH_FAILED'])(
    'a failed run (%s) does not claim that a team was alerted',
    (code) => {
      const email = composeRunEmail({ run: failedRun(code), issues: [], runUrl: 'http://ui/run' });
      for (const body of [email.text, email.html]) {
        expect(body).toContain('What to do:');
        expect(body).not.toMatch(/alerted|our team|been notified/i);
      }
    },
  );

  it('an unexpected failure says what happens next instead', () => {
    const email = composeRunEmail({ run: failedRun('INTERNAL'), issues: [], runUrl: 'http://ui/run' });
    expect(email.text).toContain('What to do: The next scheduled run will try again.');
  });
});
