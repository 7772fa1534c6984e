import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import pMap from 'p-map';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { getIntegration, getSettingsVersion, listIntegrations } from '../db/queries/integrations.js';
import type { Integration } from '../db/types.js';
import {
  SYNC_WORKFLOW_RUN_TIMEOUT,
  SYNC_WORKFLOW_TYPE,
  scheduleIdFor,
  type SyncStudentsInput,
} from '../workflows/types.js';
import { scheduleDrift, withScheduleHash } from './schedule-drift.js';
import { SchoolIdKey, SyncTriggerKey } from './search-attributes.js';
import type { Log } from '../logging/log.js';

/**
 * One Temporal schedule per school, kept in line with the `integrations` table (the source of
 * truth). Every API write calls `alignSchedule`; `reconcileSchedules` does every school at once and
 * removes orphans: the API runs it at start and the worker every SCHEDULE_RECONCILE_INTERVAL
 * (./schedule-reconciler.ts), so drift, whatever made it, does not outlive one interval.
 */

export const SCHEDULE_ID_PREFIX = scheduleIdFor('');

/** Spreads schools that share a cron line over ten minutes (Temporal's jitter is stable per schedule and time). */
export const SCHEDULE_JITTER = '10 minutes';
/** A server outage shorter than this still runs the missed sync when it comes back. */
export const SCHEDULE_CATCHUP_WINDOW = '1 day';
/** Bounds every schedule RPC, so a hung Temporal cannot hold a request (or a reconcile pass) for long. */
const RPC_TIMEOUT_MS = 10_000;

type ScheduleConfig = Pick<Config, 'temporal'>;

export function schoolIdFromScheduleId(scheduleId: string): string | undefined {
  return scheduleId.startsWith(SCHEDULE_ID_PREFIX) && scheduleId.length > SCHEDULE_ID_PREFIX.length
    ? scheduleId.slice(SCHEDULE_ID_PREFIX.length)
    : undefined;
}

/**
 * The schedule a school's settings call for: spec, action, policies and paused state, with their
 * hash in the action's memo (see ./schedule-drift.ts). Whatever is added here later (a pause note,
 * skip calendars) is covered by that hash and applied by every reconcile.
 */
export function desiredSchedule(config: ScheduleConfig, row: Integration): ScheduleUpdateOptions {
  const input: SyncStudentsInput = { schoolId: row.school_id, trigger: 'schedule' };
  return withScheduleHash({
    spec: {
      cronExpressions: [row.schedule_cron],
      timezone: row.schedule_timezone,
      jitter: SCHEDULE_JITTER,
    },
    action: {
      type: 'startWorkflow',
      workflowType: SYNC_WORKFLOW_TYPE,
      // Temporal appends the scheduled time: powerschool-sync-<schoolId>-2026-12-06T02:00:00Z.
      workflowId: scheduleIdFor(row.school_id),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      workflowRunTimeout: SYNC_WORKFLOW_RUN_TIMEOUT,
      // TestRun is upserted by the workflow once it has read the settings.
      typedSearchAttributes: [
        { key: SchoolIdKey, value: row.school_id },
        { key: SyncTriggerKey, value: 'schedule' },
      ],
      staticSummary: `Scheduled PowerSchool sync of school ${row.school_id} (${row.test_run ? 'test run' : 'commit'})`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: SCHEDULE_CATCHUP_WINDOW },
    state: {
      paused: !row.active,
      note: row.active
        ? 'Managed by powerschool-sync from its database.'
        : 'Paused: the integration is inactive. Resume it through the API, not here.',
    },
  });
}

function withDeadline<T>(client: Client, fn: () => Promise<T>, timeoutMs = RPC_TIMEOUT_MS): Promise<T> {
  return client.connection.withDeadline(Date.now() + timeoutMs, fn);
}

export interface SyncResult {
  outcome: 'created' | 'updated' | 'unchanged';
  /** What differed, when updated (names of parts, never values). */
  drift: string[];
}

/**
 * Makes the school's schedule match its settings: creates it if missing; otherwise updates it,
 * wholesale, only if it differs (an update in a fire's jitter window can lose that run).
 */
export async function syncSchedule(client: Client, config: ScheduleConfig, row: Integration): Promise<SyncResult> {
  const scheduleId = scheduleIdFor(row.school_id);
  const desired = desiredSchedule(config, row);
  const handle = client.schedule.getHandle(scheduleId);
  const options: ScheduleOptions = {
    scheduleId,
    ...desired,
    typedSearchAttributes: [{ key: SchoolIdKey, value: row.school_id }],
    state: { ...desired.state },
  };
  // Twice at most: a schedule created or deleted by someone else between our calls sends us round once more.
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= 2;
    let current: ScheduleDescription | undefined;
    try {
      current = await withDeadline(client, () => handle.describe());
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    if (current) {
      const drift = scheduleDrift(current, desired);
      if (drift.length === 0) return { outcome: 'unchanged', drift };
      try {
        await withDeadline(client, () => handle.update(() => desired));
        return { outcome: 'updated', drift };
      } catch (err) {
        if (last || !(err instanceof ScheduleNotFoundError)) throw err;
        continue;
      }
    }
    try {
      await withDeadline(client, () => client.schedule.create(options));
      return { outcome: 'created', drift: [] };
    } catch (err) {
      if (last || !(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
}

/** Removes the school's schedule; false when there was none. */
export async function deleteSchedule(client: Client, schoolId: string): Promise<boolean> {
  try {
    await withDeadline(client, () => client.schedule.getHandle(scheduleIdFor(schoolId)).delete());
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

export interface ScheduleDeps {
  db: Db;
  client: Client;
  config: ScheduleConfig;
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
      ? await syncSchedule(deps.client, deps.config, row)
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

export interface ScheduleView {
  paused: boolean;
  nextRunAt: Date | null;
}

/**
 * What the integration response shows; null when the schedule cannot be described right now. A
 * read path: it gives Temporal a short deadline, so a GET answers from the database when Temporal is slow.
 */
export async function describeSchedule(
  client: Client,
  schoolId: string,
  timeoutMs = 3_000,
): Promise<ScheduleView | null> {
  try {
    const d = await withDeadline(
      client,
      () => client.schedule.getHandle(scheduleIdFor(schoolId)).describe(),
      timeoutMs,
    );
    return { paused: d.state.paused, nextRunAt: d.state.paused ? null : (d.info.nextActionTimes[0] ?? null) };
  } catch {
    return null;
  }
}

export interface ReconcileResult {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
}

/** The school ids of every `powerschool-sync-*` schedule in the namespace. */
async function listScheduledSchoolIds(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) {
    const schoolId = schoolIdFromScheduleId(s.scheduleId);
    if (schoolId !== undefined) ids.push(schoolId);
  }
  return ids;
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

function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
