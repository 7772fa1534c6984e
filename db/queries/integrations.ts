import type { Db } from '../connection.js';
import type { Integration } from '../types.js';

export async function getIntegration(db: Db, schoolId: string): Promise<Integration | undefined> {
  return db.selectFrom('integrations').selectAll().where('school_id', '=', schoolId).executeTakeFirst();
}
