// The settings snapshot a run takes when it begins: its shape (one zod schema), how it is made and read back.
import { z } from 'zod';
import type { Integration } from '../types.js';
import { DEFAULT_SAFETY, safetyOf } from './safety-settings.js';

/**
 * The settings a run used, stored on its runs row when it begins, so the run can be understood
 * (and its later activities behave the same) even if the school edits its settings meanwhile.
 * Never holds the client secret: activities read that from the integration when they need it.
 */
const runSettingsSchema = z.object({
  serverUrl: z.string(),
  clientId: z.string(),
  grades: z.object({ from: z.number().int(), to: z.number().int() }),
  // Snapshots taken before districts have neither: every school, and no grade level.
  schools: z.array(z.number().int()).default([]),
  mapping: z.object({
    powerschoolId: z.enum(['DCID', 'STUDENT_NUMBER']),
    dateOfBirth: z.boolean(),
    gender: z.boolean(),
    gradeLevel: z.boolean().default(false),
  }),
  /** Absent from snapshots taken before matching existed: on, as the setting's default. */
  matching: z.object({ enabled: z.boolean() }).default({ enabled: true }),
  testRun: z.boolean(),
  notifications: z.object({ enabled: z.boolean(), recipients: z.array(z.string()) }),
  // Snapshots taken before the safety hold existed read as the defaults.
  safety: z
    .object({
      enabled: z.boolean(),
      maxDepartedPercent: z.number(),
      maxUpdatedPercent: z.number(),
      minStudents: z.number(),
      holdDays: z.number(),
    })
    .default(DEFAULT_SAFETY),
});

export type RunSettings = z.infer<typeof runSettingsSchema>;

export function snapshotSettings(integration: Integration, testRun: boolean): RunSettings {
  return {
    serverUrl: integration.server_url,
    clientId: integration.client_id,
    grades: { from: integration.grade_from, to: integration.grade_to },
    schools: integration.powerschool_schools,
    mapping: {
      powerschoolId: integration.mapping_powerschool_id,
      dateOfBirth: integration.mapping_date_of_birth,
      gender: integration.mapping_gender,
      gradeLevel: integration.mapping_grade_level,
    },
    matching: { enabled: integration.matching_enabled },
    testRun,
    notifications: { enabled: integration.notifications_enabled, recipients: integration.notification_recipients },
    safety: safetyOf(integration),
  };
}

/**
 * The settings column as read back (jsonb): null for a run recorded before it began (a skipped
 * run has none) and for a value that is not a snapshot, so no caller has to guess at its fields.
 */
export function parseRunSettings(value: unknown): RunSettings | null {
  const parsed = runSettingsSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** Only the snapshot's PowerSchool-ID mapping (null: none readable), for a reader that needs nothing else. */
export function parseRunIdMapping(value: unknown): RunSettings['mapping']['powerschoolId'] | null {
  const parsed = runSettingsSchema.pick({ mapping: true }).safeParse(value);
  return parsed.success ? parsed.data.mapping.powerschoolId : null;
}

/** Whether the run's summary email goes out: notifications on, and someone to send it to. */
export function wantsEmail(settings: RunSettings | null): boolean {
  return Boolean(settings?.notifications.enabled && settings.notifications.recipients.length > 0);
}
