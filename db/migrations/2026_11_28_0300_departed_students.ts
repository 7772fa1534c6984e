// Migration: the departed_students table.
import { sql, type Kysely } from 'kysely';

/**
 * departed_students: the school's students its latest commit did not see, with the last commit
 * that did. A commit writes a student row only when the student's data changes; leaving or
 * coming back is recorded here. So a no-change re-sync writes no student row, and a student who
 * left is never touched. lastSeenRunId is derived when read: the departure's run if the student
 * left, else the school's latest commit.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('departed_students')
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_run_id', 'text')
    .addColumn('departed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('departed_students_pk', ['school_id', 'dcid'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('departed_students').execute();
}
