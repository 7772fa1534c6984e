import { describe, expect, it } from 'vitest';
import { composeRunEmail, FULL_REPORT_NOTE, remedyFor, type RunEmailInput } from '../../email/compose.js';

type RunRow = RunEmailInput['run'];

const run = (overrides: Partial<RunRow> = {}): RunRow => ({
  id: 'powerschool-sync-s1-manual-1',
  school_id: 's1',
  test_run: false,
  status: 'succeeded',
  trigger: 'manual',
  started_at: new Date('2026-11-30T02:00:00Z'),
  finished_at: new Date('2026-11-30T02:05:00Z'),
  records_total: 100,
  count_fetched: 100,
  count_created: 10,
  count_updated: 5,
  count_unchanged: 80,
  count_invalid: 3,
  count_missing: 2,
  error_code: null,
  error_message: null,
  ...overrides,
});

const failedRun = (errorCode: string | null): RunRow =>
  run({
    status: 'failed',
    count_fetched: 40,
    count_created: 0,
    count_updated: 0,
    count_unchanged: 0,
    count_invalid: 0,
    count_missing: 0,
    error_code: errorCode,
    error_message: 'something went wrong',
  });

/** The run summary email tells the school only what is true and what it can do. */
describe('run summary email', () => {
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

describe('composeRunEmail', () => {
  const compose = (r: RunRow, issues: RunEmailInput['issues'] = []) =>
    composeRunEmail({ run: r, issues, runUrl: 'http://ui/namespaces/default/workflows/run-1' });

  it('a committed run: subject, mode, every count and the link', () => {
    const email = compose(run());
    expect(email.subject).toBe('PowerSchool sync for s1 completed');
    expect(email.text).toBe(
      [
        'School: s1',
        'Mode: Commit',
        'Status: succeeded',
        'Run: powerschool-sync-s1-manual-1',
        '',
        'Fetched from PowerSchool: 100',
        'Created: 10',
        'Updated: 5',
        'Unchanged: 80',
        'Skipped as invalid: 3',
        'No longer in PowerSchool (kept): 2',
        '',
        FULL_REPORT_NOTE,
        'Details: http://ui/namespaces/default/workflows/run-1',
        '',
      ].join('\n'),
    );
    expect(email.html).toContain('<a href="http://ui/namespaces/default/workflows/run-1">Open the run</a>');
    expect(email.html).toContain('<tr><td>Created</td><td align="right">10</td></tr>');
  });

  it('a test run says nothing was written and counts what would change', () => {
    const email = compose(run({ test_run: true }));
    expect(email.subject).toBe('PowerSchool test run for s1 completed');
    expect(email.text).toContain('Mode: Test run (preview, nothing was written)');
    expect(email.text).toContain('Would be created: 10');
    expect(email.text).toContain('Would be updated: 5');
    expect(email.text).not.toMatch(/^Created:/m);
  });

  it('counts links to existing accounts and records waiting for a review, only when there are some', () => {
    expect(compose(run()).text).not.toMatch(/existing accounts|match review/);
    const preview = compose(run({ test_run: true, count_linked: 900, count_needs_review: 40 })).text;
    expect(preview).toContain('Would link existing accounts: 900');
    expect(preview).toContain('Waiting for a match review: 40');
    expect(compose(run({ count_linked: 900, count_needs_review: 0 })).text).toMatch(
      /^Linked existing accounts: 900$(?![\s\S]*match review)/m,
    );
  });

  it.each<[RunRow['status'], string]>([
    ['failed', 'PowerSchool sync for s1 FAILED'],
    ['cancelled', 'PowerSchool sync for s1 was cancelled'],
    ['skipped', 'PowerSchool sync for s1 was skipped'],
  ])('a %s run says so in the subject', (status, subject) => {
    expect(compose(run({ status })).subject).toBe(subject);
  });

  it('a failed run names its error and the remedy for that code', () => {
    const email = compose(failedRun('POWERSCHOOL_AUTH_FAILED'));
    expect(email.text).toContain('Error: POWERSCHOOL_AUTH_FAILED — something went wrong');
    expect(email.text).toContain(`What to do: ${remedyFor('POWERSCHOOL_AUTH_FAILED')}`);
    expect(remedyFor('POWERSCHOOL_AUTH_FAILED')).toMatch(/Client ID/);
  });

  it('a failed run without a code or message still says what failed', () => {
    const email = compose(run({ status: 'failed', error_code: null, error_message: null }));
    expect(email.text).toContain('Error: INTERNAL — the run failed');
  });

  it('every failure a school can fix has its own remedy; an unknown code gets the generic one', () => {
    const generic = remedyFor(null);
    for (const code of [
      'POWERSCHOOL_AUTH_FAILED',
      'POWERSCHOOL_FORBIDDEN',
      'POWERSCHOOL_INSECURE_URL',
      'POWERSCHOOL_NOT_FOUND',
      'INVALID_SETTINGS',
      'INTEGRATION_NOT_FOUND',
    ])
      expect(remedyFor(code), code).not.toBe(generic);
    expect(remedyFor('SOMETHING_NEW')).toBe(generic);
  });

  it('notes a count that changed during the run, on a succeeded run only', () => {
    const note = 'Note: PowerSchool counted 100 students in scope but returned 98 (records changed during the run).';
    expect(compose(run({ count_fetched: 98 })).text).toContain(note);
    expect(compose(run({ count_fetched: 100 })).text).not.toContain('Note:');
    expect(compose(run({ count_fetched: 98, records_total: null })).text).not.toContain('Note:');
    expect(compose(run({ status: 'failed', count_fetched: 98 })).text).not.toContain('Note:');
  });

  it('lists the data issues PowerSchool had, skipped records apart from fields left out', () => {
    const email = compose(run(), [
      { field: 'dob', code: 'INVALID_DATE', skipped: false, count: 4 },
      { field: 'dcid', code: 'MISSING', skipped: true, count: 1 },
    ]);
    expect(email.text).toContain(
      'Issues in PowerSchool data:\n  - 4 × dob: INVALID_DATE (synced without this field)\n  - 1 × dcid: MISSING (record skipped)',
    );
    expect(email.html).toContain('<li>4 × dob: INVALID_DATE (synced without this field)</li>');
    expect(compose(run()).text).not.toContain('Issues in PowerSchool data');
  });

  it('escapes everything it puts into the HTML', () => {
    const email = compose(
      run({
        school_id: '<script>x</script>',
        status: 'failed',
        error_code: 'INTERNAL',
        error_message: 'a "quote" & <b>',
      }),
    );
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(email.html).toContain('a &quot;quote&quot; &amp; &lt;b&gt;');
    // The text part is plain text: left as written.
    expect(email.text).toContain('School: <script>x</script>');
  });
});

/** The run email says where the full CSV report is, without a link that would need our API's token. */
describe('run email: the full report', () => {
  it.each(['succeeded', 'failed'] as const)('a %s run mentions the CSV report and links no API route', (status) => {
    const email = composeRunEmail({ run: run({ status }), issues: [], runUrl: 'http://ui/run' });
    expect(email.text).toContain(FULL_REPORT_NOTE);
    expect(email.html).toContain('CSV files');
    for (const body of [email.text, email.html]) expect(body).not.toMatch(/\.csv|\/v1\//);
  });
});
