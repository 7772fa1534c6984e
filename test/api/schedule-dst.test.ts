import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putIntegration } from '../../db/queries/integrations.js';
import { warnDaylightSavingClashes } from '../../services/schedules.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { expectErrorShape, settings, startTestApi, type TestApi } from './support.js';

/** The daylight-saving check on schedule writes, with the zone rules of the runtime (real dates ahead). */

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const put = (schoolId: string, schedule: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  api.req({ method: 'PUT', url: `/v1/schools/${schoolId}/integration`, payload: settings({ schedule, ...extra }) });

describe('daylight-saving check on PUT', () => {
  it.each([
    ['0 2 * * 0', 'America/New_York', 'skips'],
    ['0 2 * * 0', 'Europe/Berlin', 'skips'],
    ['30 1 * * 0', 'America/New_York', 'repeats'],
  ])('refuses %s in %s (a time daylight saving %s)', async (cron, timezone, kind) => {
    const res = await put(uniqueSchoolId('dst'), { cron, timezone });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expectErrorShape(body);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    const detail = (body.error.details as Array<{ path: string; message: string }>)[0]!;
    expect(detail.path).toBe('schedule.cron');
    expect(detail.message).toContain('daylight saving');
    expect(detail.message).toContain(kind);
    // A suggestion that is itself accepted.
    const suggested = /`([^`]+)`/.exec(detail.message)?.[1];
    expect(suggested).toBeDefined();
    expect((await put(uniqueSchoolId('dst'), { cron: suggested, timezone })).statusCode).toBe(201);
  });

  it.each([
    ['0 2 * * 0', 'Asia/Singapore'],
    ['0 2 * * 0', 'UTC'],
    ['0 * * * *', 'America/New_York'],
    ['0 * * * *', 'Europe/Berlin'],
    ['30 * * * 0', 'America/New_York'],
    ['0 2 * * 1', 'America/New_York'],
  ])('accepts %s in %s', async (cron, timezone) => {
    expect((await put(uniqueSchoolId('dst'), { cron, timezone })).statusCode).toBe(201);
  });

  it('checks only writes that set or change the time: a stored clashing schedule keeps working and is logged', async () => {
    const schoolId = uniqueSchoolId('dst-stored');
    // Stored before the check existed: written straight to the database.
    await putIntegration(
      api.db,
      schoolId,
      {
        serverUrl: 'https://district.powerschool.com',
        clientId: 'client-1',
        active: false,
        testRun: true,
        notificationsEnabled: false,
        notificationRecipients: [],
        gradeFrom: 9,
        gradeTo: 12,
        mappingPowerschoolId: 'DCID',
        mappingDateOfBirth: false,
        mappingGender: false,
        scheduleCron: '0 2 * * 0',
        scheduleTimezone: 'America/New_York',
      },
      { ciphertext: 'x', keyId: 'k' },
    );
    const schedule = { cron: '0 2 * * 0', timezone: 'America/New_York' };
    // Another setting changes; the stored time stays: accepted.
    expect((await put(schoolId, schedule, { testRun: false })).statusCode).toBe(200);
    // Moving to another clashing zone is a change: refused.
    expect((await put(schoolId, { ...schedule, timezone: 'Europe/Berlin' })).statusCode).toBe(400);

    const warnings: Array<Record<string, unknown>> = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (obj: object) => void warnings.push(obj as Record<string, unknown>),
    };
    await warnDaylightSavingClashes(api.db, logger);
    const mine = warnings.find((w) => w.schoolId === schoolId);
    expect(mine).toMatchObject({ cron: '0 2 * * 0', timezone: 'America/New_York' });
    expect(String(mine?.problem)).toContain('daylight saving');
  });
});
