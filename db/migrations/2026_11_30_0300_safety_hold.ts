// Migration: the safety hold — each school's thresholds, a held run's reasons and times, a second email per run.
import { sql, type Kysely } from 'kysely';

/**
 * - `integrations.safety_*`: when a commit waits for a person (contract defaults: on, 10% departed,
 *   75% updated, at least 20 active students, 7 days before a held run is discarded).
 * - `runs.hold_reasons`, `held_at`, `hold_expires_at`: set when a commit is held; kept after the
 *   decision as the record of why it waited. `runs_held` serves the held-runs list and gauges.
 * - `email_outbox.kind`: a held run sends its hold email and later its usual end email, so one
 *   email per run and kind (`run`, `held`) instead of one per run.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('integrations')
    .addColumn('safety_enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('safety_max_departed_percent', 'float8', (c) => c.notNull().defaultTo(10))
    .addColumn('safety_max_updated_percent', 'float8', (c) => c.notNull().defaultTo(75))
    .addColumn('safety_min_students', 'integer', (c) => c.notNull().defaultTo(20))
    .addColumn('safety_hold_days', 'integer', (c) => c.notNull().defaultTo(7))
    .execute();
  await db.schema
    .alterTable('runs')
    .addColumn('hold_reasons', 'jsonb')
    .addColumn('held_at', 'timestamptz')
    .addColumn('hold_expires_at', 'timestamptz')
    .execute();
  await sql`create index runs_held on runs (held_at, id) where status = 'held'`.execute(db);

  await db.schema
    .alterTable('email_outbox')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('run'))
    .execute();
  await sql`alter table email_outbox drop constraint email_outbox_run_id_key`.execute(db);
  await sql`alter table email_outbox add constraint email_outbox_run_id_kind_key unique (run_id, kind)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table email_outbox drop constraint email_outbox_run_id_kind_key`.execute(db);
  await sql`delete from email_outbox where kind <> 'run'`.execute(db);
  await sql`alter table email_outbox add constraint email_outbox_run_id_key unique (run_id)`.execute(db);
  await db.schema.alterTable('email_outbox').dropColumn('kind').execute();
  await sql`drop index runs_held`.execute(db);
  await db.schema
    .alterTable('runs')
    .dropColumn('hold_reasons')
    .dropColumn('held_at')
    .dropColumn('hold_expires_at')
    .execute();
  await db.schema
    .alterTable('integrations')
    .dropColumn('safety_enabled')
    .dropColumn('safety_max_departed_percent')
    .dropColumn('safety_max_updated_percent')
    .dropColumn('safety_min_students')
    .dropColumn('safety_hold_days')
    .execute();
}
