// Which PowerSchool value a school's lists show as "PowerSchool ID" (the runs and students routes share it).
import { getIntegrationIdMapping } from '../db/queries/integrations.js';
import { getLatestRunSettings } from '../db/queries/listings.js';
import type { PowerSchoolIdSource } from './serialize.js';
import type { Services } from './services.js';

/**
 * The integration's current mapping; once the integration is deleted, the mapping its most recent
 * run recorded; failing both, DCID.
 */
export async function currentMapping(services: Services, schoolId: string): Promise<PowerSchoolIdSource> {
  const fromIntegration = await getIntegrationIdMapping(services.db, schoolId);
  if (fromIntegration) return fromIntegration;
  const settings = (await getLatestRunSettings(services.db, schoolId)) as Record<string, unknown> | null;
  const mapping = settings?.mapping as Record<string, unknown> | undefined;
  const value = mapping?.powerschoolId ?? settings?.mappingPowerschoolId ?? settings?.mapping_powerschool_id;
  return value === 'STUDENT_NUMBER' ? 'STUDENT_NUMBER' : 'DCID';
}
