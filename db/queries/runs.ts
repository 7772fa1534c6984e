// The runs table's reads by id and the school's run slot (one running run per school).
import type { Db } from '../connection.js';
import type { Run, RunTrigger } from '../types.js';
import { parseRunSettings, type RunSettings } from './run-settings.js';

/** A run by id; with `schoolId`, only if it is that school's (the API never shows another school's run). */
export async function getRun(db: Db, runId: string, scope: { schoolId?: string } = {}): Promise<Run | undefined> {
  let q = db.selectFrom('runs').selectAll().where('id', '=', runId);
  if (scope.schoolId !== undefined) q = q.where('school_id', '=', scope.schoolId);
  return q.executeTakeFirst();
}

/** The settings snapshot of a run (null: no such run, or it never began). */
export async function getRunSettings(db: Db, runId: string): Promise<RunSettings | null> {
  const row = await db.selectFrom('runs').select('settings').where('id', '=', runId).executeTakeFirst();
  return parseRunSettings(row?.settings);
}

export interface NewRun {
  id: string;
  schoolId: string;
  trigger: RunTrigger;
  testRun: boolean;
}

export type ClaimResult =
  { claimed: true; run: Run } | { claimed: false; runningRunId: string; runningStatus: 'running' | 'held' };

/**
 * Records a run as `running`, which takes the school's run slot (a partial unique index allows one
 * run per school that is `running` or `held`: a commit waiting for a person keeps the slot).
 * Idempotent on the run id: claiming a run that already holds the slot returns it. When another
 * run holds the slot, nothing is written and its id and status are returned.
 */
export async function claimRunSlot(db: Db, run: NewRun): Promise<ClaimResult> {
  const inserted = await db
    .insertInto('runs')
    .values({ id: run.id, school_id: run.schoolId, trigger: run.trigger, test_run: run.testRun, status: 'running' })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { claimed: true, run: inserted };

  const existing = await getRun(db, run.id);
  if (existing?.status === 'running') return { claimed: true, run: existing };
  const holder = await db
    .selectFrom('runs')
    .select(['id', 'status'])
    .where('school_id', '=', run.schoolId)
    .where('status', 'in', ['running', 'held'])
    .executeTakeFirst();
  if (holder) return { claimed: false, runningRunId: holder.id, runningStatus: holder.status as 'running' | 'held' };
  if (existing) throw new Error(`run ${run.id} already ended as ${existing.status}`);
  // The holder finished between our insert and our look-up: try once more.
  return claimRunSlot(db, run);
}

/**
 * The settings snapshot of the school's latest commit other than `runId` (null: no earlier commit,
 * or its snapshot is unreadable): what the school synced before this run.
 */
export async function getPreviousCommitSettings(db: Db, schoolId: string, runId: string): Promise<RunSettings | null> {
  const row = await db
    .selectFrom('runs')
    .select('settings')
    .where('school_id', '=', schoolId)
    .where('test_run', '=', false)
    .where('applied_at', 'is not', null)
    .where('id', '<>', runId)
    .orderBy('applied_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return parseRunSettings(row?.settings);
}
