// Migration: the tables a run writes by the hundred thousand lose their foreign key to runs.
import { sql, type Kysely } from 'kysely';

/**
 * `staged_students`, `run_changes` and `run_departure_lookups` get one row per student per run.
 * Their foreign key to `runs` checked every inserted row against the run row: about a third of the
 * cost of staging a page and of recording a 100,000-student diff (bench/profile-steps.ts). Every write to
 * them already holds the run row locked (staging, the diff, the departure lookups), and runs are
 * never deleted, so the key guarded nothing those writes do not. `run_match_decisions` was created
 * without one for the same reason.
 */
const TABLES = ['staged_students', 'run_changes', 'run_departure_lookups'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await sql`alter table ${sql.table(table)} drop constraint ${sql.ref(`${table}_run_id_fkey`)}`.execute(db);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await sql`alter table ${sql.table(table)} add constraint ${sql.ref(`${table}_run_id_fkey`)}
      foreign key (run_id) references runs (id) on delete cascade`.execute(db);
  }
}
