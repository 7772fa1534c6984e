// Migration: integrations.settings_version, which moves on every settings write.
import { sql, type Kysely } from 'kysely';

/**
 * `integrations.settings_version`: a number that moves on every settings write, so whoever brings a
 * school's Temporal schedule in line can tell, after its Temporal call, whether the settings it
 * applied are still the current ones (and apply again if not) without holding a transaction or a
 * lock across that call. It is drawn from one sequence rather than counted per row, so a school
 * deleted and created again never repeats a version an older writer may still hold.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create sequence integrations_settings_version_seq`.execute(db);
  await db.schema
    .alterTable('integrations')
    .addColumn('settings_version', 'bigint', (c) =>
      c.notNull().defaultTo(sql`nextval('integrations_settings_version_seq')`),
    )
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('integrations').dropColumn('settings_version').execute();
  await sql`drop sequence integrations_settings_version_seq`.execute(db);
}
