// The held runs of every school, oldest hold first: the list a person works through.
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { Run } from '../types.js';
import type { Page } from './listings.js';

/** held_at to the microsecond, as text: a JS Date would drop microseconds and break the keyset. */
const heldAtKey = sql<string>`to_char(held_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export type HeldRunWithKey = Run & { held_at_key: string };

/** Keyset-paginated on (held_at, id), served by the partial index runs_held. */
export async function listHeldRuns(
  db: Db,
  opts: { limit: number; after?: { heldAt: string; id: string } },
): Promise<Page<HeldRunWithKey>> {
  let q = db.selectFrom('runs').selectAll().select(heldAtKey.as('held_at_key')).where('status', '=', 'held');
  if (opts.after) q = q.where(sql<boolean>`(held_at, id) > (${opts.after.heldAt}::timestamptz, ${opts.after.id})`);
  const rows = await q
    .orderBy('held_at', 'asc')
    .orderBy('id', 'asc')
    .limit(opts.limit + 1)
    .execute();
  return { items: rows.slice(0, opts.limit), hasMore: rows.length > opts.limit };
}
