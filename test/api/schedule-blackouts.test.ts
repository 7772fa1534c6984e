import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignSchedule } from '../../services/schedules.js';
import { blackoutSkipCalendars } from '../../temporal/schedules.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { expectErrorShape, settings, startTestApi, type TestApi } from './support.js';

/** Blackout dates: skip calendars on the real Temporal schedule, honoured by nextRunAt. */

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const DAY = 86_400_000;
const ymd = (t: number) => new Date(t).toISOString().slice(0, 10);
const put = (schoolId: string, extra: Record<string, unknown>) =>
  api.req({ method: 'PUT', url: `/v1/schools/${schoolId}/integration`, payload: settings(extra) });

describe('blackoutSkipCalendars', () => {
  it('skips whole days (second, minute and hour every value), one calendar per month touched', () => {
    expect(blackoutSkipCalendars({ from: '2027-06-20', to: '2027-06-25' })).toEqual([
      expect.objectContaining({
        year: 2027,
        month: 'JUNE',
        dayOfMonth: { start: 20, end: 25 },
        hour: '*',
        minute: '*',
        second: '*',
      }),
    ]);
    const across = blackoutSkipCalendars({ from: '2027-12-30', to: '2028-03-02' });
    expect(across.map((c) => [c.year, c.month, c.dayOfMonth])).toEqual([
      [2027, 'DECEMBER', { start: 30, end: 31 }],
      [2028, 'JANUARY', { start: 1, end: 31 }],
      [2028, 'FEBRUARY', { start: 1, end: 29 }],
      [2028, 'MARCH', { start: 1, end: 2 }],
    ]);
  });
});

describe('blackouts', () => {
  it('a blackout covering the next fire date moves nextRunAt past it, in Temporal’s own nextActionTimes too', async () => {
    const schoolId = uniqueSchoolId('blackout');
    // Daily at 12:00 UTC: the next fire's date is today or tomorrow.
    const schedule = { cron: '0 12 * * *', timezone: 'UTC' };
    const first = await put(schoolId, { active: true, schedule });
    expect(first.statusCode).toBe(201);
    const next = new Date(first.json().schedule.nextRunAt as string).getTime();
    const nextDate = ymd(next);

    const res = await put(schoolId, { active: true, schedule, blackouts: [{ from: nextDate, to: nextDate }] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.blackouts).toEqual([{ from: nextDate, to: nextDate }]);
    const moved = new Date(body.schedule.nextRunAt as string).getTime();
    expect(ymd(moved)).toBe(ymd(next + DAY));

    const d = await api.client.schedule.getHandle(scheduleIdFor(schoolId)).describe();
    expect(d.info.nextActionTimes.length).toBeGreaterThan(0);
    for (const t of d.info.nextActionTimes) expect(ymd(t.getTime())).not.toBe(nextDate);
    expect(d.info.nextActionTimes[0]!.getTime()).toBeGreaterThan(next);
    expect(d.spec.skip?.length).toBe(1);

    // The skip calendars read back from the server compare equal: no rewrite on the next reconcile.
    expect((await alignSchedule({ db: api.db, client: api.client, config: api.config }, schoolId)).outcome).toBe(
      'unchanged',
    );

    // A manual run inside the blackout still starts.
    const run = await api.req({ method: 'POST', url: `/v1/schools/${schoolId}/runs`, payload: {} });
    expect(run.statusCode).toBe(202);
  });

  it('drops ranges wholly in the past on write', async () => {
    const schoolId = uniqueSchoolId('blackout');
    const future = { from: ymd(Date.now() + 30 * DAY), to: ymd(Date.now() + 40 * DAY) };
    const current = { from: ymd(Date.now() - 3 * DAY), to: ymd(Date.now() + 3 * DAY) };
    const res = await put(schoolId, { blackouts: [{ from: '2020-06-01', to: '2020-08-15' }, current, future] });
    expect(res.statusCode).toBe(201);
    expect(res.json().blackouts).toEqual([current, future]);
  });

  it.each([
    ['an impossible date', [{ from: '2027-02-30', to: '2027-03-01' }], 'blackouts.0.from'],
    ['a date that is not YYYY-MM-DD', [{ from: '2027-6-1', to: '2027-06-02' }], 'blackouts.0.from'],
    ['from after to', [{ from: '2027-06-10', to: '2027-06-01' }], 'blackouts.0.to'],
    ['an unknown key', [{ from: '2027-06-01', to: '2027-06-02', note: 'x' }], 'blackouts.0.note'],
    [
      'more than ten ranges',
      Array.from({ length: 11 }, (_, i) => ({ from: `2030-01-${String(i + 1).padStart(2, '0')}`, to: '2030-01-20' })),
      'blackouts',
    ],
  ])('refuses %s (400)', async (_what, blackouts, path) => {
    const res = await put(uniqueSchoolId('blackout'), { blackouts });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expectErrorShape(body);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect((body.error.details as Array<{ path: string }>)[0]!.path).toBe(path);
  });
});
