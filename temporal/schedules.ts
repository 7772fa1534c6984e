import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { sql } from 'kysely';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { getIntegration, listIntegrations } from '../db/queries/integrations.js';
import type { Integration } from '../db/types.js';
import {
  SYNC_WORKFLOW_RUN_TIMEOUT,
  SYNC_WORKFLOW_TYPE,
  scheduleIdFor,
  type SyncStudentsInput,
} from '../workflows/types.js';
import { SchoolIdKey, SyncTriggerKey } from './search-attributes.js';

/**
 * One Temporal schedule per school, kept in line with the `integrations` table (the source of
 * truth). Every API write calls `alignSchedule`; the API and the worker call `reconcileSchedules`
 * at start to repair anything that drifted while nobody was looking.
 */

export const SCHEDULE_ID_PREFIX = scheduleIdFor('');

/** Spreads schools that share a cron line over ten minutes (Temporal's jitter is stable per schedule and time). */
export const SCHEDULE_JITTER = '10 minutes';
/** A server outage shorter than this still runs the missed sync when it comes back. */
export const SCHEDULE_CATCHUP_WINDOW = '1 day';
/** Bounds every schedule RPC, so a hung Temporal cannot hold a request (or a lock) for long. */
const RPC_TIMEOUT_MS = 10_000;

/** Structural logger: pino's Logger fits, so does a test double. */
export interface ScheduleLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

type ScheduleConfig = Pick<Config, 'temporal'>;

export function schoolIdFromScheduleId(scheduleId: string): string | undefined {
  return scheduleId.startsWith(SCHEDULE_ID_PREFIX) && scheduleId.length > SCHEDULE_ID_PREFIX.length
    ? scheduleId.slice(SCHEDULE_ID_PREFIX.length)
    : undefined;
}

/** The schedule a school's settings call for: spec, action, policies and paused state. */
export function desiredSchedule(config: ScheduleConfig, row: Integration): ScheduleUpdateOptions {
  const input: SyncStudentsInput = { schoolId: row.school_id, trigger: 'schedule' };
  return {
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
  };
}

function withDeadline<T>(client: Client, fn: () => Promise<T>, timeoutMs = RPC_TIMEOUT_MS): Promise<T> {
  return client.connection.withDeadline(Date.now() + timeoutMs, fn);
}

/**
 * Makes the school's schedule match its settings: creates it if missing, otherwise replaces its
 * spec, action, policies and paused state wholesale (cheaper to reason about than a field diff:
 * Temporal compiles cron lines into calendars, so the spec cannot be compared as written).
 */
export async function syncSchedule(
  client: Client,
  config: ScheduleConfig,
  row: Integration,
): Promise<'created' | 'updated'> {
  const scheduleId = scheduleIdFor(row.school_id);
  const desired = desiredSchedule(config, row);
  const handle = client.schedule.getHandle(scheduleId);
  const update = () => withDeadline(client, () => handle.update(() => desired));
  try {
    await update();
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  const options: ScheduleOptions = {
    scheduleId,
    ...desired,
    typedSearchAttributes: [{ key: SchoolIdKey, value: row.school_id }],
    state: { ...desired.state },
  };
  try {
    await withDeadline(client, () => client.schedule.create(options));
    return 'created';
  } catch (err) {
    // Created by someone else between our two calls (a concurrent reconcile): bring it in line.
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await update();
    return 'updated';
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

export type AlignOutcome = 'created' | 'updated' | 'deleted' | 'absent';

/**
 * Brings one school's schedule in line with what the database says *now*. Serialised per school
 * across processes by a transaction-scoped advisory lock, and the row is re-read under the lock,
 * so two concurrent writes can never leave the schedule showing the older one.
 */
export async function alignSchedule(deps: ScheduleDeps, schoolId: string): Promise<AlignOutcome> {
  return deps.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(7710, hashtext(${schoolId}))`.execute(trx);
    const row = await getIntegration(trx, schoolId);
    if (row) return syncSchedule(deps.client, deps.config, row);
    return (await deleteSchedule(deps.client, schoolId)) ? 'deleted' : 'absent';
  });
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
  deleted: number;
  failed: number;
}

/**
 * Creates missing schedules, rewrites existing ones from the settings (fixing any drift in spec,
 * action, policies or paused state) and removes `powerschool-sync-*` schedules whose school has no
 * integration. A failure for one school is logged and counted; the others still go through.
 */
export async function reconcileSchedules(
  deps: ScheduleDeps & {
    logger: ScheduleLogger;
    concurrency?: number;
    /** Only these schools (e.g. one shard of a large deployment, or one test's schools). Default: all. */
    schoolFilter?: (schoolId: string) => boolean;
  },
): Promise<ReconcileResult> {
  const { db, client, logger } = deps;
  const inScope = deps.schoolFilter ?? (() => true);
  const rows = (await listIntegrations(db)).filter((r) => inScope(r.school_id));
  const known = new Set(rows.map((r) => r.school_id));
  const orphans: string[] = [];
  for await (const s of client.schedule.list()) {
    const schoolId = schoolIdFromScheduleId(s.scheduleId);
    if (schoolId !== undefined && !known.has(schoolId) && inScope(schoolId)) orphans.push(schoolId);
  }

  const result: ReconcileResult = { created: 0, updated: 0, deleted: 0, failed: 0 };
  const queue = [...known, ...orphans];
  const worker = async () => {
    for (let schoolId = queue.shift(); schoolId !== undefined; schoolId = queue.shift()) {
      try {
        const outcome = await alignSchedule(deps, schoolId);
        if (outcome !== 'absent') result[outcome] += 1;
        if (outcome === 'created' || outcome === 'deleted') logger.info({ schoolId, outcome }, 'schedule reconciled');
      } catch (err) {
        result.failed += 1;
        logger.error({ schoolId, err: errorSummary(err) }, 'schedule reconcile failed');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, worker));
  logger.info({ ...result }, 'schedules reconciled');
  return result;
}

function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
