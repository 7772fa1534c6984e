// Migration: districts — selected PowerSchool schools, grade level, departures with their reasons, fills.
import { sql, type Kysely } from 'kysely';

/**
 * - `integrations.powerschool_schools`: the PowerSchool school numbers a school syncs (empty: every
 *   school the plugin sees); `integrations.mapping_grade_level`: sync GRADE_LEVEL.
 * - `students.grade_level`, `students.school_number` (the PowerSchool school it was last seen in),
 *   `students.departed_at`, `students.departure_reason`; `staged_students.school_number`.
 * - `run_departure_lookups`: what PowerSchool said, without the scope filter, about each active
 *   student a run did not receive in scope. Staged here so no answer enters Temporal history.
 * - `run_changes.fill`: an update that only fills `schoolNumber` or a field the school has just
 *   switched on; the safety hold does not count it.
 * - `runs.count_departed`: the run's `depart` changes.
 * - Students v1 recorded in `departed_students` become `departed`, with no reason (v1 never asked).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('integrations')
    .addColumn('powerschool_schools', sql`integer[]`, (c) => c.notNull().defaultTo(sql`'{}'::integer[]`))
    .addColumn('mapping_grade_level', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();

  await db.schema
    .alterTable('students')
    .addColumn('grade_level', 'integer')
    .addColumn('school_number', 'integer')
    .addColumn('departed_at', 'timestamptz')
    .addColumn('departure_reason', 'text')
    .execute();
  await sql`alter table students add constraint students_departure_reason_check
    check (departure_reason in ('graduated', 'transferred', 'inactive', 'out_of_scope', 'not_found'))`.execute(db);

  await db.schema.alterTable('staged_students').addColumn('school_number', 'integer').execute();
  await db.schema
    .alterTable('run_changes')
    .addColumn('fill', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .alterTable('runs')
    .addColumn('count_departed', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('run_departure_lookups')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    // Set once the DCID's range was read for records that are not enrolled (the cheap first pass).
    .addColumn('asked_unenrolled', 'boolean', (c) => c.notNull().defaultTo(false))
    // Set once PowerSchool answered for the DCID: found, or absent from a read of its whole range.
    .addColumn('looked_up', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('found', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('enroll_status', 'integer')
    .addColumn('school_number', 'integer')
    .addColumn('grade_level', 'integer')
    .addPrimaryKeyConstraint('run_departure_lookups_pk', ['run_id', 'dcid'])
    .execute();

  await sql`
    update students st set status = 'departed', departed_at = d.departed_at, departure_reason = null
    from departed_students d
    where d.school_id = st.school_id and d.dcid = st.dcid and st.status = 'active'
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`update students set status = 'active' where status = 'departed'`.execute(db);
  await db.schema.dropTable('run_departure_lookups').execute();
  await db.schema.alterTable('runs').dropColumn('count_departed').execute();
  await db.schema.alterTable('run_changes').dropColumn('fill').execute();
  await db.schema.alterTable('staged_students').dropColumn('school_number').execute();
  await db.schema
    .alterTable('students')
    .dropColumn('grade_level')
    .dropColumn('school_number')
    .dropColumn('departed_at')
    .dropColumn('departure_reason')
    .execute();
  await db.schema
    .alterTable('integrations')
    .dropColumn('powerschool_schools')
    .dropColumn('mapping_grade_level')
    .execute();
}
