import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../connection.js';

/**
 * A run's record read for the CSV reports, in batches through a server-side cursor: memory stays
 * one batch whatever the run's size. The cursor lives in a read-only transaction on one pooled
 * connection; each FETCH is its own statement, so the pool's statement timeout bounds each batch,
 * not the whole download. Ending the iteration early (a client that hung up) closes it.
 */

const BATCH_ROWS = 1000;

async function* cursorBatches<T>(db: Db, query: RawBuilder<T>, batchRows = BATCH_ROWS): AsyncGenerator<T[]> {
  const tx = await db.startTransaction().setAccessMode('read only').execute();
  let done = false;
  try {
    await sql`declare report_rows no scroll cursor for ${query}`.execute(tx);
    for (;;) {
      const { rows } = await sql<T>`fetch forward ${sql.raw(String(batchRows))} from report_rows`.execute(tx);
      if (rows.length === 0) break;
      yield rows;
    }
    done = true;
  } finally {
    if (done) await tx.commit().execute();
    else
      await tx
        .rollback()
        .execute()
        .catch(() => {});
  }
}

/**
 * One row per changed field: an update or link gives one row per field whose value differs
 * (before → after); a create or depart one row with no field, `after` the whole record (create)
 * or the departure reason (depart). In DCID order (the primary key), then the record's key order.
 */
export interface ChangeFieldRow {
  type: string;
  dcid: string;
  student_number: string | null;
  field: string | null;
  before: unknown;
  after: unknown;
}

export function streamChangeFields(db: Db, runId: string): AsyncGenerator<ChangeFieldRow[]> {
  return cursorBatches(
    db,
    sql<ChangeFieldRow>`
      select c.type, c.dcid::text as dcid,
             coalesce(c.after->>'studentNumber', c.before->>'studentNumber') as student_number,
             f.field, f.before, f.after
      from run_changes c
      cross join lateral (
        select null::text as field, null::jsonb as before,
               case when c.type = 'depart' then c.after -> 'departureReason' else c.after end as after
        where c.type not in ('update', 'link')
        union all
        select k.key, c.before -> k.key, c.after -> k.key
        from jsonb_object_keys(coalesce(c.before, '{}'::jsonb) || c.after) as k(key)
        where c.type in ('update', 'link') and (c.before -> k.key) is distinct from (c.after -> k.key)
      ) f
      where c.run_id = ${runId}
      order by c.dcid
    `,
  );
}

export interface IssueReportRow {
  dcid: string;
  powerschool_id: string | null;
  field: string;
  code: string;
  message: string;
  skipped: boolean;
}

/** A run's issues in the order they were recorded, as GET …/issues lists them. */
export function streamIssues(db: Db, runId: string): AsyncGenerator<IssueReportRow[]> {
  return cursorBatches(
    db,
    sql<IssueReportRow>`
      select dcid, powerschool_id, field, code, message, skipped
      from run_issues where run_id = ${runId} order by id
    `,
  );
}
