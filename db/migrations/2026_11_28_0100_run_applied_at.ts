// Migration: runs.applied_at, when a run's diff was recorded or committed.
import type { Kysely } from 'kysely';

/**
 * `runs.applied_at` marks the moment a run's diff was recorded (preview) or committed, in the same
 * transaction as the writes. A retried applyRun/previewRun sees it and returns the stored counts
 * instead of diffing again: after a commit the diff would find nothing left to change.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('applied_at', 'timestamptz').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('applied_at').execute();
}
