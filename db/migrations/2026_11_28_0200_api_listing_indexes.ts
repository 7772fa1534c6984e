// Migration: the index the API's issue listing pages by.
import type { Kysely } from 'kysely';

/**
 * The API pages a run's issues by their bigserial id (keyset pagination); without this index each
 * page would walk the primary key across every run's issues.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('run_issues_run_id_id_idx').on('run_issues').columns(['run_id', 'id']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('run_issues_run_id_id_idx').ifExists().execute();
}
