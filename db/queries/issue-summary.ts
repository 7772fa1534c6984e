// The summary of a run's issues the email shows: how often each problem occurred, most frequent first.
import { sql } from 'kysely';
import type { Db } from '../connection.js';

export interface IssueSummary {
  field: string;
  code: string;
  skipped: boolean;
  count: number;
}

/** The `limit` most frequent (field, code, skipped) groups of the run's issues. */
export async function summariseRunIssues(db: Db, runId: string, limit = 20): Promise<IssueSummary[]> {
  const { rows } = await sql<IssueSummary>`
    select field, code, skipped, count(*)::int as count
    from run_issues where run_id = ${runId}
    group by field, code, skipped
    order by count(*) desc, field, code
    limit ${limit}
  `.execute(db);
  return rows;
}
