// A run's counts: the one type, and its one mapping to and from the runs row's count_* columns.
import type { Run } from '../types.js';

/** A run's counts, as the Run JSON names them; what applyRun, previewRun and the workflow return. */
export interface RunCounts {
  fetched: number;
  created: number;
  updated: number;
  unchanged: number;
  invalid: number;
  missing: number;
  /** This run's depart changes. */
  departed: number;
  /** Imported accounts linked to a PowerSchool record. */
  linked: number;
  /** New records waiting for a person's match review. */
  needsReview: number;
}

/** The runs columns that hold the counts, for a select. */
export const RUN_COUNT_COLUMNS = [
  'count_fetched',
  'count_created',
  'count_updated',
  'count_unchanged',
  'count_invalid',
  'count_missing',
  'count_departed',
  'count_linked',
  'count_needs_review',
] as const;

export type RunCountColumns = Pick<Run, (typeof RUN_COUNT_COLUMNS)[number]>;

export function runCountsOf(row: RunCountColumns): RunCounts {
  return {
    fetched: row.count_fetched,
    created: row.count_created,
    updated: row.count_updated,
    unchanged: row.count_unchanged,
    invalid: row.count_invalid,
    missing: row.count_missing,
    departed: row.count_departed,
    linked: row.count_linked,
    needsReview: row.count_needs_review,
  };
}

export function runCountColumns(counts: RunCounts): RunCountColumns {
  return {
    count_fetched: counts.fetched,
    count_created: counts.created,
    count_updated: counts.updated,
    count_unchanged: counts.unchanged,
    count_invalid: counts.invalid,
    count_missing: counts.missing,
    count_departed: counts.departed,
    count_linked: counts.linked,
    count_needs_review: counts.needsReview,
  };
}
