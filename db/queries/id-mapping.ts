// Which PowerSchool value a school's lists show as "PowerSchool ID": DCID or STUDENT_NUMBER.
import type { Db } from '../connection.js';
import { getIntegrationIdMapping } from './integrations.js';
import { parseRunIdMapping, type RunSettings } from './run-settings.js';

export type PowerSchoolIdMapping = RunSettings['mapping']['powerschoolId'];

/**
 * The integration's current mapping; once the integration is deleted, the mapping its most recent
 * run recorded in its settings snapshot; failing both, DCID.
 */
export async function currentIdMapping(db: Db, schoolId: string): Promise<PowerSchoolIdMapping> {
  const fromIntegration = await getIntegrationIdMapping(db, schoolId);
  if (fromIntegration) return fromIntegration;
  const row = await db
    .selectFrom('runs')
    .select('settings')
    .where('school_id', '=', schoolId)
    .where('settings', 'is not', null)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return parseRunIdMapping(row?.settings) ?? 'DCID';
}
