// A school's settings for reading every grade of a PowerSchool simulator, for scripts that write them straight to the database.
import { DEFAULT_SCHEDULE, type IntegrationSettings } from '../../db/queries/integrations.js';
import { SEEDED_GRADES } from '../../simulator/students.js';

/** Every seeded grade, the DCID as the PowerSchool ID, date of birth and gender synced, no email. */
export function simulatorIntegration(
  sim: { url: string; clientId: string },
  schedule: { cron: string; timezone: string } = DEFAULT_SCHEDULE,
): IntegrationSettings {
  return {
    serverUrl: sim.url,
    clientId: sim.clientId,
    active: true,
    testRun: false,
    notificationsEnabled: false,
    notificationRecipients: [],
    gradeFrom: SEEDED_GRADES.from,
    gradeTo: SEEDED_GRADES.to,
    mappingPowerschoolId: 'DCID',
    mappingDateOfBirth: true,
    mappingGender: true,
    scheduleCron: schedule.cron,
    scheduleTimezone: schedule.timezone,
  };
}
