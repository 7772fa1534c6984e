/**
 * What crosses the Temporal boundary: ids, flags, counts and cursors only. Never a secret, never
 * student data (it would be stored, unencrypted, in workflow history).
 */

export const SYNC_WORKFLOW_TYPE = 'syncStudents';

export type SyncTrigger = 'schedule' | 'manual';

export interface SyncStudentsInput {
  schoolId: string;
  trigger: SyncTrigger;
  /** Overrides the integration's testRun setting for this run ("Save & Trigger Now"). */
  testRun?: boolean;
}

export interface SyncProgress {
  pagesFetched: number;
  pagesTotal: number | null;
  recordsFetched: number;
  recordsTotal: number | null;
}

/** The name of the workflow query that returns SyncProgress. */
export const PROGRESS_QUERY = 'progress';

/** One schedule per school. Scheduled runs get the id `<this>-<UTC time>` from Temporal. */
export function scheduleIdFor(schoolId: string): string {
  return `powerschool-sync-${schoolId}`;
}

/** Manual runs: sortable by time, unique per request. */
export function manualWorkflowIdFor(schoolId: string, at: Date, nonce: string): string {
  return `powerschool-sync-${schoolId}-manual-${at.toISOString().replace(/[:.]/g, '')}-${nonce}`;
}
