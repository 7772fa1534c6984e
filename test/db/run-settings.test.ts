// The run's settings snapshot and counts as stored on its row: parsed by one schema, mapped once.
import { describe, expect, it } from 'vitest';
import { runCountColumns, runCountsOf, type RunCounts } from '../../db/queries/run-counts.js';
import { parseRunIdMapping, parseRunSettings, snapshotSettings, wantsEmail } from '../../db/queries/run-settings.js';
import type { Integration } from '../../db/types.js';

const integration = {
  school_id: 'school-1',
  server_url: 'https://ps.example.org',
  client_id: 'client-1',
  client_secret_encrypted: 'sealed',
  client_secret_key_id: 'k1',
  active: true,
  test_run: false,
  notifications_enabled: true,
  notification_recipients: ['counselor@example.org'],
  grade_from: 9,
  grade_to: 12,
  mapping_powerschool_id: 'STUDENT_NUMBER',
  mapping_date_of_birth: true,
  mapping_gender: false,
  mapping_grade_level: false,
  powerschool_schools: [],
  matching_enabled: true,
  schedule_cron: '0 2 * * 0',
  schedule_timezone: 'UTC',
  pause_note: null,
  paused_in_bulk: false,
  blackouts: [],
  safety_enabled: true,
  safety_max_departed_percent: 12.5,
  safety_max_updated_percent: 60,
  safety_min_students: 30,
  safety_hold_days: 3,
  settings_version: '1',
  created_at: new Date(),
  updated_at: new Date(),
} satisfies Integration;

/** As the jsonb column gives it back. */
const stored = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('parseRunSettings', () => {
  it('reads back the snapshot a run took, field for field, and never the secret', () => {
    const snapshot = snapshotSettings(integration, true);
    expect(parseRunSettings(stored(snapshot))).toEqual({
      serverUrl: 'https://ps.example.org',
      clientId: 'client-1',
      grades: { from: 9, to: 12 },
      mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: false, gradeLevel: false },
      schools: [],
      matching: { enabled: true },
      testRun: true,
      notifications: { enabled: true, recipients: ['counselor@example.org'] },
      safety: { enabled: true, maxDepartedPercent: 12.5, maxUpdatedPercent: 60, minStudents: 30, holdDays: 3 },
    });
    expect(JSON.stringify(snapshot)).not.toContain('sealed');
  });

  it('reads a snapshot taken before the safety hold existed with the default thresholds', () => {
    const { safety: _safety, ...older } = stored(snapshotSettings(integration, false)) as Record<string, unknown>;
    expect(parseRunSettings(older)?.safety).toEqual({
      enabled: true,
      maxDepartedPercent: 10,
      maxUpdatedPercent: 75,
      minStudents: 20,
      holdDays: 7,
    });
  });

  it('reads matching as on from a snapshot taken before the setting existed, and off when it was off', () => {
    const { matching: _matching, ...older } = stored(snapshotSettings(integration, false)) as Record<string, unknown>;
    expect(parseRunSettings(older)?.matching).toEqual({ enabled: true });
    const off = snapshotSettings({ ...integration, matching_enabled: false }, false);
    expect(parseRunSettings(stored(off))?.matching).toEqual({ enabled: false });
  });

  it('reads a snapshot taken before districts as every school, grade level off', () => {
    const { schools: _schools, ...v1 } = stored(snapshotSettings(integration, true)) as Record<string, unknown>;
    const mapping = { powerschoolId: 'DCID', dateOfBirth: true, gender: true };
    expect(parseRunSettings({ ...v1, mapping })).toMatchObject({
      schools: [],
      mapping: { ...mapping, gradeLevel: false },
    });
  });

  it('answers null for no snapshot and for a value that is not one, instead of passing it on', () => {
    const snapshot = stored(snapshotSettings(integration, false)) as Record<string, unknown>;
    expect(parseRunSettings(null)).toBeNull();
    expect(parseRunSettings('{}')).toBeNull();
    expect(parseRunSettings({ mapping: { powerschoolId: 'DCID', dateOfBirth: false, gender: false } })).toBeNull();
    expect(parseRunSettings({ ...snapshot, notifications: { enabled: 'yes', recipients: [] } })).toBeNull();
    expect(parseRunSettings({ ...snapshot, mapping: { powerschoolId: 'dcid', dateOfBirth: 1, gender: 0 } })).toBeNull();
  });

  it('reads the PowerSchool-ID mapping alone from a snapshot that holds it', () => {
    expect(parseRunIdMapping(stored(snapshotSettings(integration, false)))).toBe('STUDENT_NUMBER');
    expect(parseRunIdMapping({ mapping: { powerschoolId: 'DCID', dateOfBirth: false, gender: false } })).toBe('DCID');
    expect(parseRunIdMapping({ mappingPowerschoolId: 'STUDENT_NUMBER' })).toBeNull();
    expect(parseRunIdMapping(null)).toBeNull();
  });
});

describe('wantsEmail', () => {
  const settings = (enabled: boolean, recipients: string[]) =>
    parseRunSettings(
      stored(
        snapshotSettings(
          { ...integration, notifications_enabled: enabled, notification_recipients: recipients },
          false,
        ),
      ),
    );

  it('is true only with notifications on and someone to send to', () => {
    expect(wantsEmail(settings(true, ['a@example.org']))).toBe(true);
    expect(wantsEmail(settings(true, []))).toBe(false);
    expect(wantsEmail(settings(false, ['a@example.org']))).toBe(false);
    expect(wantsEmail(null)).toBe(false);
  });
});

describe('run counts', () => {
  it('map to the count_* columns and back without losing or swapping one', () => {
    const counts: RunCounts = {
      fetched: 1,
      created: 2,
      updated: 3,
      unchanged: 4,
      invalid: 5,
      missing: 6,
      departed: 9,
      linked: 7,
      needsReview: 8,
    };
    expect(runCountColumns(counts)).toEqual({
      count_fetched: 1,
      count_created: 2,
      count_updated: 3,
      count_unchanged: 4,
      count_invalid: 5,
      count_missing: 6,
      count_departed: 9,
      count_linked: 7,
      count_needs_review: 8,
    });
    expect(runCountsOf(runCountColumns(counts))).toEqual(counts);
  });
});
