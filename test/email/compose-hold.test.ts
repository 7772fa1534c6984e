import { describe, expect, it } from 'vitest';
import { composeHoldEmail } from '../../email/compose-hold.js';
import { composeRunEmail, type RunEmailInput } from '../../email/compose.js';

const heldRun = {
  id: 'powerschool-sync-s1-manual-1',
  school_id: 's1',
  count_created: 2,
  count_updated: 240,
  count_missing: 0,
};

/** The hold email names the reasons in counts, the expiry, and who decides where: nothing else. */
describe('hold email', () => {
  const email = composeHoldEmail({
    run: heldRun,
    reasons: [
      { code: 'TOO_MANY_DEPARTURES', count: 45, base: 300, percent: 15, limit: 10 },
      { code: 'TOO_MANY_UPDATES', count: 240, base: 300, percent: 80, limit: 75 },
    ],
    expiresAt: new Date('2026-12-07T02:05:30Z'),
  });

  it('gives every reason with count, base, percent and limit, and the expiry', () => {
    expect(email.subject).toBe('PowerSchool sync for s1 is on hold: it needs approval');
    expect(email.text).toContain('TOO_MANY_DEPARTURES: 45 of 300 active students would leave (15%, limit 10%)');
    expect(email.text).toContain('TOO_MANY_UPDATES: 240 of 300 active students would be updated (80%, limit 75%)');
    expect(email.text).toContain('If nobody decides by 2026-12-07 02:05 UTC, it is discarded.');
    expect(email.text).toContain('Would be updated: 240');
    expect(email.html).toContain(
      '<li>TOO_MANY_UPDATES: 240 of 300 active students would be updated (80%, limit 75%)</li>',
    );
  });

  it('says the school’s Cialfo administrator decides in Cialfo, and links to nothing of ours', () => {
    expect(email.text).toMatch(/Cialfo administrator can approve it .* or discard it .* in Cialfo/);
    for (const body of [email.text, email.html]) expect(body).not.toMatch(/https?:\/\/|<a /);
  });
});

describe('discarded run email', () => {
  const discarded = (error_code: string | null): RunEmailInput['run'] => ({
    ...heldRun,
    test_run: false,
    status: 'discarded',
    trigger: 'manual',
    started_at: new Date('2026-11-30T02:00:00Z'),
    finished_at: new Date('2026-12-07T02:05:30Z'),
    records_total: 300,
    count_fetched: 300,
    count_unchanged: 58,
    count_invalid: 0,
    error_code,
    error_message: null,
  });

  it.each([
    [null, 'Nothing was written: the held sync was discarded in Cialfo.'],
    ['HOLD_EXPIRED', 'Nothing was written: nobody approved the held sync before its hold expired.'],
    ['INTEGRATION_DELETED', 'Nothing was written: the integration was deleted while the sync was held.'],
  ])('says nothing was written and why (%s)', (code, why) => {
    const email = composeRunEmail({ run: discarded(code), issues: [], runUrl: 'http://ui/run' });
    expect(email.subject).toBe('PowerSchool sync for s1 was discarded');
    expect(email.text).toContain(why);
    expect(email.text).toContain('Would be updated: 240');
    expect(email.text).not.toMatch(/^Updated: /m);
  });
});
