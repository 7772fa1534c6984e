import { sql } from 'kysely';
import type { Db } from '../connection.js';

/**
 * The fleet gauges the API exports at each scrape (api/plugins/metrics.ts). Read from the
 * database, the one place that knows the whole fleet, so any number of workers or a restart
 * cannot make them wrong. Each is one aggregate over indexed columns.
 */

/** How long an active school may go without a successful run before on-call hears of it. */
export const SUCCESS_WINDOW_DAYS = 8;

export interface HeldRuns {
  count: number;
  /** Seconds since the oldest held run was held; 0 when none is held. */
  oldestAgeSeconds: number;
}

/** Runs waiting on a person (status `held`), and how long the oldest has waited. */
export async function heldRuns(db: Db): Promise<HeldRuns> {
  const { rows } = await sql<{ count: number; oldest_age_seconds: number | null }>`
    select count(*)::int as count,
           extract(epoch from now() - min(coalesce(held_at, started_at)))::float8 as oldest_age_seconds
    from runs where status = 'held'
  `.execute(db);
  const row = rows[0];
  return { count: row?.count ?? 0, oldestAgeSeconds: Math.max(0, row?.oldest_age_seconds ?? 0) };
}

/**
 * Active integrations older than the window with no run that succeeded within it (a test run's
 * success counts: the school's sync works). A school set up less than the window ago is not
 * late yet.
 */
export async function activeSchoolsWithoutSuccess(db: Db, days = SUCCESS_WINDOW_DAYS): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    select count(*)::int as count
    from integrations i
    where i.active
      and i.created_at <= now() - make_interval(days => ${days})
      and not exists (
        select 1 from runs r
        where r.school_id = i.school_id and r.status = 'succeeded'
          and r.started_at >= now() - make_interval(days => ${days})
      )
  `.execute(db);
  return rows[0]?.count ?? 0;
}
