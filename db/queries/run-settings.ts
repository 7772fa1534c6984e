import type { Integration } from '../types.js';

/**
 * The settings a run used, stored on its runs row when it begins, so the run can be understood
 * (and its later activities behave the same) even if the school edits its settings meanwhile.
 * Never holds the client secret: activities read that from the integration when they need it.
 */
export interface RunSettings {
  serverUrl: string;
  clientId: string;
  grades: { from: number; to: number };
  mapping: { powerschoolId: 'DCID' | 'STUDENT_NUMBER'; dateOfBirth: boolean; gender: boolean };
  testRun: boolean;
  notifications: { enabled: boolean; recipients: string[] };
}

export function snapshotSettings(integration: Integration, testRun: boolean): RunSettings {
  return {
    serverUrl: integration.server_url,
    clientId: integration.client_id,
    grades: { from: integration.grade_from, to: integration.grade_to },
    mapping: {
      powerschoolId: integration.mapping_powerschool_id,
      dateOfBirth: integration.mapping_date_of_birth,
      gender: integration.mapping_gender,
    },
    testRun,
    notifications: { enabled: integration.notifications_enabled, recipients: integration.notification_recipients },
  };
}

/** The settings column as read back (jsonb); null for a run recorded before it began. */
export function parseRunSettings(value: unknown): RunSettings | null {
  if (!value || typeof value !== 'object') return null;
  return value as RunSettings;
}
