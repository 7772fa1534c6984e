// Migration: the first schema (integrations, runs, staging, issues, changes, students, email outbox).
import { sql, type Kysely } from 'kysely';

/**
 * First schema. Keep migrations additive: later changes go in new files listed in ./index.ts.
 * DCIDs are bigint (PowerSchool's stable integer key); pg returns them to us as strings.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('integrations')
    .addColumn('school_id', 'text', (c) => c.primaryKey())
    .addColumn('server_url', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    // AES-256-GCM: iv + tag + ciphertext, base64; key_id names the key that sealed it (rotation).
    .addColumn('client_secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('client_secret_key_id', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('test_run', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('notifications_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('notification_recipients', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('grade_from', 'integer', (c) => c.notNull())
    .addColumn('grade_to', 'integer', (c) => c.notNull())
    .addColumn('mapping_powerschool_id', 'text', (c) => c.notNull().defaultTo('DCID'))
    .addColumn('mapping_date_of_birth', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('mapping_gender', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('schedule_cron', 'text', (c) => c.notNull().defaultTo('0 2 * * 0'))
    .addColumn('schedule_timezone', 'text', (c) => c.notNull().defaultTo('UTC'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('integrations_mapping_check', sql`mapping_powerschool_id in ('DCID', 'STUDENT_NUMBER')`)
    .addCheckConstraint(
      'integrations_grades_check',
      sql`grade_from between -2 and 12 and grade_to between -2 and 12 and grade_from <= grade_to`,
    )
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey()) // the Temporal workflow id
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('temporal_run_id', 'text')
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('test_run', 'boolean', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('running'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    // Settings the run used (never the secret), so a run can be understood after settings change.
    .addColumn('settings', 'jsonb')
    .addColumn('pages_fetched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pages_total', 'integer')
    .addColumn('records_fetched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('records_total', 'integer')
    .addColumn('count_fetched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count_created', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count_updated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count_unchanged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count_invalid', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count_missing', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('notification_status', 'text', (c) => c.notNull().defaultTo('disabled'))
    .addColumn('notification_message_id', 'text')
    .addCheckConstraint('runs_trigger_check', sql`trigger in ('schedule', 'manual')`)
    .addCheckConstraint('runs_status_check', sql`status in ('running', 'succeeded', 'failed', 'cancelled', 'skipped')`)
    .addCheckConstraint(
      'runs_notification_status_check',
      sql`notification_status in ('disabled', 'pending', 'sent', 'failed')`,
    )
    .execute();
  await db.schema
    .createIndex('runs_school_started_idx')
    .on('runs')
    .columns(['school_id', 'started_at desc', 'id desc'])
    .execute();
  // The school's run slot: at most one running run per school, enforced by the database itself.
  await sql`create unique index runs_one_running_per_school on runs (school_id) where status = 'running'`.execute(db);

  // Rows of the current run, staged page by page (claim-check: student data never enters Temporal).
  await db.schema
    .createTable('staged_students')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    .addColumn('student_number', 'text')
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('graduation_year', 'integer', (c) => c.notNull())
    .addColumn('date_of_birth', 'date')
    .addColumn('gender', 'text')
    .addColumn('grade_level', 'integer')
    .addPrimaryKeyConstraint('staged_students_pk', ['run_id', 'dcid'])
    .execute();

  await db.schema
    .createTable('run_issues')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('dcid', 'text', (c) => c.notNull())
    .addColumn('powerschool_id', 'text')
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('skipped', 'boolean', (c) => c.notNull())
    // A retried page re-stages the same issues: the unique key makes that a no-op.
    .addUniqueConstraint('run_issues_unique', ['run_id', 'dcid', 'field', 'code'])
    .execute();

  await db.schema
    .createTable('run_changes')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_changes_pk', ['run_id', 'dcid'])
    .addCheckConstraint('run_changes_type_check', sql`type in ('create', 'update')`)
    .execute();

  await db.schema
    .createTable('students')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('dcid', 'bigint', (c) => c.notNull())
    .addColumn('student_number', 'text')
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('graduation_year', 'integer', (c) => c.notNull())
    .addColumn('date_of_birth', 'date')
    .addColumn('gender', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_run_id', 'text')
    .addUniqueConstraint('students_school_dcid_unique', ['school_id', 'dcid'])
    .execute();

  await db.schema
    .createTable('email_outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().unique()) // one email per run, even when retried
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('from', 'text', (c) => c.notNull())
    .addColumn('to', sql`text[]`, (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('html', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'email_outbox',
    'students',
    'run_changes',
    'run_issues',
    'staged_students',
    'runs',
    'integrations',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
