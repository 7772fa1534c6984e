// Keeps each school's Temporal schedule in line with its integrations row: one school, or all of them.
import type { Client } from '@temporalio/client';
import pMap from 'p-map';
import type { Db } from '../db/connection.js';
import { getIntegration, getSettingsVersion, listIntegrations } from '../db/queries/integrations.js';
import type { Integration } from '../db/types.js';
import { daylightSavingProblem } from './schedules-calendar.js';
import { checkMissedRun } from './schedules-due.js';
import {
  deleteSchedule,
  listScheduledSchoolIds,
  syncSchedule,
  type ScheduleConfig,
  type ScheduleSettings,
  type SyncResult,
} from '../temporal/schedules.js';
import type { Log } from '../logging/log.js';

/**
 * The database is the source of truth for schedules. Every API write calls `alignSchedule`;
 * `reconcileSchedules` does every school at once and removes orphans: the API runs it at start and
 * the worker every SCHEDULE_RECONCILE_INTERVAL (./schedule-reconciler.ts), so drift, whatever made
 * it, does not outlive one interval.
 */

export interface ScheduleDeps {
  db: Db;
  client: Client;
  config: ScheduleConfig;
}

/** What of the integration row its schedule is built from. */
export function scheduleSettingsOf(row: Integration): ScheduleSettings {
  return {
    schoolId: row.school_id,
    cron: row.schedule_cron,
    timezone: row.schedule_timezone,
    active: row.active,
    testRun: row.test_run,
    pauseNote: row.active ? null : row.pause_note,
    blackouts: row.blackouts,
  };
}

export interface AlignResult {
  outcome: SyncResult['outcome'] | 'deleted' | 'absent';
  drift: string[];
}

/** Rounds of "apply, then see whether the settings moved meanwhile" before giving up to the next pass. */
const MAX_ALIGN_ROUNDS = 5;

/**
 * Brings one school's schedule in line with what the database says *now*, without holding a
 * transaction or a pooled connection across any Temporal call: each query takes a connection and
 * gives it back. Two writers racing (an API write and a reconcile pass, or two API writes) cannot
 * leave the schedule showing the older settings: after writing to Temporal we read the school's
 * settings version again, and if it moved, what we wrote may be older than what the other writer
 * wrote before us, so we apply the current settings again. Whoever writes to Temporal last checks
 * last. When nothing had to be written, nothing older can have been written either. (A write that
 * timed out here may still land later, unseen: the next reconcile pass finds its hash stale.)
 *
 * `known` is the row when the caller has just read it (null: no integration), saving a read.
 */
export async function alignSchedule(
  deps: ScheduleDeps,
  schoolId: string,
  known?: Integration | null,
): Promise<AlignResult> {
  let row = known === undefined ? await getIntegration(deps.db, schoolId) : (known ?? undefined);
  for (let round = 1; ; round++) {
    const result: AlignResult = row
      ? await syncSchedule(deps.client, deps.config, scheduleSettingsOf(row))
      : { outcome: (await deleteSchedule(deps.client, schoolId)) ? 'deleted' : 'absent', drift: [] };
    if (result.outcome === 'unchanged' || result.outcome === 'absent') return result;
    const version = await getSettingsVersion(deps.db, schoolId);
    if (version === row?.settings_version) return result;
    if (round >= MAX_ALIGN_ROUNDS) {
      throw new Error(`the settings of ${schoolId} changed ${round} times while its schedule was being aligned`);
    }
    row = await getIntegration(deps.db, schoolId);
  }
}

export interface ReconcileResult {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
}

/**
 * One pass over every school: creates missing schedules, updates those that differ from the
 * settings (spec, action, policies, paused state), leaves the others untouched, and removes
 * `powerschool-sync-*` schedules whose school has no integration. A failure for one school is
 * logged and counted; the others still go through. Does not exclude other reconcilers: the worker
 * runs it under a fleet-wide lock (./schedule-reconciler.ts); a concurrent pass or API write is
 * still safe, only wasted work (see alignSchedule).
 */
export async function reconcileSchedules(
  deps: ScheduleDeps & {
    logger: Log;
    concurrency?: number;
    /** Only these schools (e.g. one shard of a large deployment, or one test's schools). Default: all. */
    schoolFilter?: (schoolId: string) => boolean;
    /** Stops the pass between schools (e.g. when the lock it runs under is lost). */
    signal?: AbortSignal;
  },
): Promise<ReconcileResult> {
  const { db, client, logger } = deps;
  const inScope = deps.schoolFilter ?? (() => true);
  const rows = (await listIntegrations(db)).filter((r) => inScope(r.school_id));
  const known = new Set(rows.map((r) => r.school_id));
  const orphans = (await listScheduledSchoolIds(client)).filter((id) => !known.has(id) && inScope(id));

  const result: ReconcileResult = { created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0 };
  // An orphan's row is read again: the school may have been created since the list above.
  const work: Array<[string, Integration | undefined]> = [
    ...rows.map((r): [string, Integration] => [r.school_id, r]),
    ...orphans.map((id): [string, undefined] => [id, undefined]),
  ];
  await pMap(
    work,
    async ([schoolId, row]) => {
      try {
        const { outcome, drift } = await alignSchedule(deps, schoolId, row);
        if (outcome !== 'absent') result[outcome] += 1;
        if (row) await checkMissedRun(deps, row);
        if (outcome !== 'unchanged' && outcome !== 'absent') {
          logger.info({ schoolId, outcome, ...(drift.length ? { drift } : {}) }, 'schedule reconciled');
        }
      } catch (err) {
        result.failed += 1;
        logger.error({ schoolId, err: errorSummary(err) }, 'schedule reconcile failed');
      }
    },
    { concurrency: Math.max(1, deps.concurrency ?? 4), signal: deps.signal },
  );
  logger.info({ ...result }, 'schedules reconciled');
  return result;
}

/**
 * Logs (warn) each stored schedule whose local time daylight saving skips or repeats within the
 * next 400 days. Such schedules predate the check on writes; they keep working as they are, and
 * this tells on-call which schools will miss or double a run. Returns how many were logged.
 */
export async function warnDaylightSavingClashes(db: Db, logger: Log): Promise<number> {
  let found = 0;
  for (const row of await listIntegrations(db)) {
    const problem = daylightSavingProblem(row.schedule_cron, row.schedule_timezone);
    if (!problem) continue;
    found += 1;
    logger.warn(
      { schoolId: row.school_id, cron: row.schedule_cron, timezone: row.schedule_timezone, problem: problem.message },
      'stored schedule clashes with daylight saving; it keeps running as stored',
    );
  }
  return found;
}

function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
