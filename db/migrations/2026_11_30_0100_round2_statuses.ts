// Migration: the status vocabularies round 2 shares (student status, run statuses, change types).
import { sql, type Kysely } from 'kysely';

/**
 * - `students.status`: `active` (synced and in scope), `departed` (left scope; the row is kept),
 *   `unlinked` (an imported Cialfo account no PowerSchool record has claimed yet).
 * - `runs.status` gains `held` (a commit waiting for a person) and `discarded` (a held commit that
 *   was turned down or expired). A held run keeps its school's run slot, so the one-run-per-school
 *   index covers both `running` and `held`.
 * - `run_changes.type` gains `depart` and `link`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('students')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .execute();
  await sql`alter table students add constraint students_status_check
    check (status in ('active', 'departed', 'unlinked'))`.execute(db);

  await sql`alter table runs drop constraint runs_status_check`.execute(db);
  await sql`alter table runs add constraint runs_status_check
    check (status in ('running', 'held', 'succeeded', 'failed', 'cancelled', 'skipped', 'discarded'))`.execute(db);
  await sql`drop index runs_one_running_per_school`.execute(db);
  await sql`create unique index runs_one_running_per_school on runs (school_id) where status in ('running', 'held')`.execute(
    db,
  );

  await sql`alter table run_changes drop constraint run_changes_type_check`.execute(db);
  await sql`alter table run_changes add constraint run_changes_type_check
    check (type in ('create', 'update', 'depart', 'link'))`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table run_changes drop constraint run_changes_type_check`.execute(db);
  await sql`alter table run_changes add constraint run_changes_type_check check (type in ('create', 'update'))`.execute(
    db,
  );
  await sql`drop index runs_one_running_per_school`.execute(db);
  await sql`create unique index runs_one_running_per_school on runs (school_id) where status = 'running'`.execute(db);
  await sql`alter table runs drop constraint runs_status_check`.execute(db);
  await sql`alter table runs add constraint runs_status_check
    check (status in ('running', 'succeeded', 'failed', 'cancelled', 'skipped'))`.execute(db);
  await db.schema.alterTable('students').dropColumn('status').execute();
}
