import { describe, expect, it } from 'vitest';
import { composeRunEmail, FULL_REPORT_NOTE, type RunEmailInput } from '../../email/compose.js';

/** The run email says where the full CSV report is, without a link that would need our API's token. */
describe('run email: the full report', () => {
  const run: RunEmailInput['run'] = {
    id: 'powerschool-sync-s1-manual-1',
    school_id: 's1',
    test_run: false,
    status: 'succeeded',
    trigger: 'manual',
    started_at: new Date('2026-11-30T02:00:00Z'),
    finished_at: new Date('2026-11-30T02:05:00Z'),
    records_total: 100,
    count_fetched: 100,
    count_created: 3,
    count_updated: 1,
    count_unchanged: 96,
    count_invalid: 0,
    count_missing: 0,
    error_code: null,
    error_message: null,
  };

  it.each(['succeeded', 'failed'] as const)('a %s run mentions the CSV report and links no API route', (status) => {
    const email = composeRunEmail({ run: { ...run, status }, issues: [], runUrl: 'http://ui/run' });
    expect(email.text).toContain(FULL_REPORT_NOTE);
    expect(email.html).toContain('CSV files');
    for (const body of [email.text, email.html]) expect(body).not.toMatch(/\.csv|\/v1\//);
  });
});
