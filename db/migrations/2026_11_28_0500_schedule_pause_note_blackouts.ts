// Migration: integrations.pause_note, paused_in_bulk and blackouts; missed_scheduled_runs (schedules a school can trust).
import { sql, type Kysely } from 'kysely';

/**
 * - `pause_note`: why the school is paused, given by a bulk pause (e.g. "summer break"); shown in
 *   the integration response and on the Temporal schedule. A per-school pause or resume clears it.
 * - `paused_in_bulk`: the pause came from a bulk pause, so a bulk resume of `all` wakes only these
 *   and never a school someone paused on its own.
 * - `blackouts`: inclusive date ranges `[{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}]` in the
 *   schedule's zone on which no scheduled run starts.
 * - `missed_scheduled_runs`: each scheduled fire that came due and started no sync (overlap, a
 *   paused or unreachable server, a run that ended skipped), recorded once by the worker's
 *   reconcile pass; counted for the missed-runs metric. No foreign key: it outlives the integration.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('integrations')
    .addColumn('pause_note', 'text')
    .addColumn('paused_in_bulk', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('blackouts', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await db.schema
    .createTable('missed_scheduled_runs')
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('nominal_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('missed_scheduled_runs_pkey', ['school_id', 'nominal_at'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('missed_scheduled_runs').execute();
  await db.schema
    .alterTable('integrations')
    .dropColumn('pause_note')
    .dropColumn('paused_in_bulk')
    .dropColumn('blackouts')
    .execute();
}
