// Migration: existing Cialfo accounts (imported, unlinked students), match keys, match reviews, the matching setting.
import { sql, type Kysely } from 'kysely';

/**
 * - An imported account is a student with status `unlinked`: no DCID, student number or (possibly)
 *   graduation year yet, so those columns become nullable. `external_id` is Cialfo's own id of
 *   the account, unique per school. `linked_by_match` tells an account linked by matching (which
 *   unlink may undo) from a student the sync created.
 * - Match keys (shared/match-key.ts) are computed once in TypeScript when a record is staged or an
 *   account imported, and stored, so SQL compares keys and never folds names itself.
 * - `run_match_decisions`: the new PowerSchool records a run's diff neither creates nor links
 *   (review, ignore), with their candidates. Recorded with the changes (links are `link` changes),
 *   so a commit (or a held run's approve) applies exactly what was recorded.
 * - `match_reviews`: one per record (DCID) a person has to decide; reopened, never duplicated.
 * - Runs count links and records waiting for review.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('integrations')
    .addColumn('matching_enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();

  await sql`alter table students alter column dcid drop not null`.execute(db);
  await sql`alter table students alter column graduation_year drop not null`.execute(db);
  await db.schema
    .alterTable('students')
    .addColumn('external_id', 'text')
    .addColumn('first_name_key', 'text')
    .addColumn('last_name_key', 'text')
    .addColumn('linked_by_match', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  // Only synced students may lack an external id; only unlinked ones may lack a DCID.
  await sql`alter table students add constraint students_linked_check
    check (status = 'unlinked' or dcid is not null)`.execute(db);
  await sql`alter table students add constraint students_unlinked_check
    check (status <> 'unlinked' or (dcid is null and external_id is not null and first_name_key is not null))`.execute(
    db,
  );
  await sql`create unique index students_school_external_id_unique on students (school_id, external_id)
    where external_id is not null`.execute(db);
  // The students list pages through accounts without a DCID by id, after the linked ones.
  await sql`create index students_no_dcid_idx on students (school_id, id) where dcid is null`.execute(db);
  // What a run's matching probes: the school's unlinked accounts by name keys.
  await sql`create index students_unlinked_keys_idx on students (school_id, first_name_key, last_name_key)
    where status = 'unlinked'`.execute(db);

  await db.schema
    .alterTable('staged_students')
    .addColumn('first_name_key', 'text')
    .addColumn('last_name_key', 'text')
    .execute();

  await db.schema
    .alterTable('runs')
    .addColumn('count_linked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count_needs_review', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // No foreign key to runs: its per-row check cost a tenth of a 20,000-record commit's matching,
  // and runs are never deleted (the diff writes only rows of the run it holds locked).
  await db.schema
    .createTable('run_match_decisions')
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('candidate_ids', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addPrimaryKeyConstraint('run_match_decisions_pk', ['run_id', 'dcid'])
    .addCheckConstraint('run_match_decisions_decision_check', sql`decision in ('review', 'ignore')`)
    .execute();

  await db.schema
    .createTable('match_reviews')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    .addColumn('student_number', 'text')
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('date_of_birth', 'date')
    .addColumn('graduation_year', 'integer')
    .addColumn('first_name_key', 'text', (c) => c.notNull())
    .addColumn('last_name_key', 'text', (c) => c.notNull())
    .addColumn('candidate_ids', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('resolution_action', 'text')
    .addColumn('resolution_student_id', 'uuid')
    // The commit that opened or last refreshed it.
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('match_reviews_school_dcid_unique', ['school_id', 'dcid'])
    .addCheckConstraint('match_reviews_status_check', sql`status in ('open', 'resolved')`)
    .addCheckConstraint(
      'match_reviews_resolution_check',
      sql`(status = 'open' and resolution_action is null and resolution_student_id is null)
        or (status = 'resolved' and resolution_action in ('link', 'create', 'ignore')
            and (resolution_action = 'link') = (resolution_student_id is not null))`,
    )
    .execute();
  await db.schema
    .createIndex('match_reviews_school_status_idx')
    .on('match_reviews')
    .columns(['school_id', 'status', 'id'])
    .execute();
  // An import reopens the resolved reviews whose record carries the imported names.
  await sql`create index match_reviews_keys_idx on match_reviews (school_id, first_name_key, last_name_key)`.execute(
    db,
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('match_reviews').execute();
  await db.schema.dropTable('run_match_decisions').execute();
  await db.schema.alterTable('runs').dropColumn('count_linked').dropColumn('count_needs_review').execute();
  await db.schema.alterTable('staged_students').dropColumn('first_name_key').dropColumn('last_name_key').execute();
  await sql`delete from students where status = 'unlinked'`.execute(db);
  await sql`drop index students_unlinked_keys_idx`.execute(db);
  await sql`drop index students_no_dcid_idx`.execute(db);
  await sql`drop index students_school_external_id_unique`.execute(db);
  await sql`alter table students drop constraint students_unlinked_check`.execute(db);
  await sql`alter table students drop constraint students_linked_check`.execute(db);
  await db.schema
    .alterTable('students')
    .dropColumn('external_id')
    .dropColumn('first_name_key')
    .dropColumn('last_name_key')
    .dropColumn('linked_by_match')
    .execute();
  await sql`alter table students alter column graduation_year set not null`.execute(db);
  await sql`alter table students alter column dcid set not null`.execute(db);
  await db.schema.alterTable('integrations').dropColumn('matching_enabled').execute();
}
