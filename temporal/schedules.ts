// Temporal schedules of school syncs: the desired schedule for given settings, and schedule create/update/delete/describe/list.
import {
  MONTHS,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpec,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Config } from '../config.js';
import {
  SYNC_WORKFLOW_RUN_TIMEOUT,
  SYNC_WORKFLOW_TYPE,
  scheduleIdFor,
  type SyncStudentsInput,
} from '../workflows/types.js';
import { SchoolIdKey, SyncTriggerKey } from '../workflows/search-attributes.js';
import { STATE_PARTS, scheduleDrift, withScheduleHash } from './schedule-drift.js';

/**
 * One Temporal schedule per school, id `powerschool-sync-<schoolId>`: what it should say for given
 * settings, and the calls that create, update (only when it differs), delete, describe and list
 * them. Knows nothing of the database: services/schedules.ts decides which settings apply.
 */

export const SCHEDULE_ID_PREFIX = scheduleIdFor('');

/** Spreads schools that share a cron line over ten minutes (Temporal's jitter is stable per schedule and time). */
export const SCHEDULE_JITTER = '10 minutes';
/** A server outage shorter than this still runs the missed sync when it comes back. */
export const SCHEDULE_CATCHUP_WINDOW = '1 day';
/** Bounds every schedule RPC, so a hung Temporal cannot hold a request (or a reconcile pass) for long. */
const RPC_TIMEOUT_MS = 10_000;

export type ScheduleConfig = Pick<Config, 'temporal'>;

/** The part of a school's settings its schedule is built from. */
export interface ScheduleSettings {
  schoolId: string;
  cron: string;
  timezone: string;
  /** An inactive integration's schedule is paused. */
  active: boolean;
  /** Only named in the schedule's summary; the run reads the setting itself when it begins. */
  testRun: boolean;
  /** Why a bulk pause paused the school; shown in the schedule's note while it is paused. */
  pauseNote: string | null;
  /** Inclusive YYYY-MM-DD ranges in `timezone` on which no scheduled run starts. */
  blackouts: ReadonlyArray<{ from: string; to: string }>;
}

/**
 * A blackout as skip calendars in the schedule's zone. A calendar's second, minute and hour default
 * to 0, so each is set to '*' (otherwise only midnight would be skipped); a calendar has one year
 * and its day-of-month range applies to every month it names, so a range is cut at month and year
 * ends, one calendar per month it touches.
 */
export function blackoutSkipCalendars(range: { from: string; to: string }): CalendarSpec[] {
  const [fy, fm, fd] = range.from.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = range.to.split('-').map(Number) as [number, number, number];
  const out: CalendarSpec[] = [];
  for (let y = fy, m = fm; y < ty || (y === ty && m <= tm); m === 12 ? ((y += 1), (m = 1)) : (m += 1)) {
    const first = y === fy && m === fm ? fd : 1;
    const last = y === ty && m === tm ? td : new Date(Date.UTC(y, m, 0)).getUTCDate();
    out.push({
      year: y,
      month: MONTHS[m - 1]!,
      dayOfMonth: { start: first, end: last },
      hour: '*',
      minute: '*',
      second: '*',
      comment: `blackout ${range.from}..${range.to}`,
    });
  }
  return out;
}

/** The schedule's note: what on-call reads in the Temporal UI. */
function scheduleNote(school: ScheduleSettings): string {
  if (school.active) return 'Managed by powerschool-sync from its database.';
  if (school.pauseNote) return `Paused by a bulk pause: ${school.pauseNote}. Resume it through the API, not here.`;
  return 'Paused: the integration is inactive. Resume it through the API, not here.';
}

export function schoolIdFromScheduleId(scheduleId: string): string | undefined {
  return scheduleId.startsWith(SCHEDULE_ID_PREFIX) && scheduleId.length > SCHEDULE_ID_PREFIX.length
    ? scheduleId.slice(SCHEDULE_ID_PREFIX.length)
    : undefined;
}

/**
 * The schedule a school's settings call for: spec, action, policies and paused state, with their
 * hash in the action's memo (see ./schedule-drift.ts). The pause note and the blackouts' skip
 * calendars are part of it, so every reconcile keeps them on the schedule.
 */
export function desiredSchedule(config: ScheduleConfig, school: ScheduleSettings): ScheduleUpdateOptions {
  const input: SyncStudentsInput = { schoolId: school.schoolId, trigger: 'schedule' };
  return withScheduleHash({
    spec: {
      cronExpressions: [school.cron],
      timezone: school.timezone,
      jitter: SCHEDULE_JITTER,
      // Only when there are any: a schedule without blackouts hashes as it always did.
      ...(school.blackouts.length ? { skip: school.blackouts.flatMap(blackoutSkipCalendars) } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: SYNC_WORKFLOW_TYPE,
      // Temporal appends the scheduled time: powerschool-sync-<schoolId>-2026-12-06T02:00:00Z.
      workflowId: scheduleIdFor(school.schoolId),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      workflowRunTimeout: SYNC_WORKFLOW_RUN_TIMEOUT,
      // TestRun is upserted by the workflow once it has read the settings.
      typedSearchAttributes: [
        { key: SchoolIdKey, value: school.schoolId },
        { key: SyncTriggerKey, value: 'schedule' },
      ],
      staticSummary: `Scheduled PowerSchool sync of school ${school.schoolId} (${school.testRun ? 'test run' : 'commit'})`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: SCHEDULE_CATCHUP_WINDOW },
    state: { paused: !school.active, note: scheduleNote(school) },
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
export async function syncSchedule(
  client: Client,
  config: ScheduleConfig,
  school: ScheduleSettings,
): Promise<SyncResult> {
  const scheduleId = scheduleIdFor(school.schoolId);
  const desired = desiredSchedule(config, school);
  const handle = client.schedule.getHandle(scheduleId);
  const options: ScheduleOptions = {
    scheduleId,
    ...desired,
    typedSearchAttributes: [{ key: SchoolIdKey, value: school.schoolId }],
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
        if (drift.every((part) => STATE_PARTS.includes(part))) {
          await patchScheduleState(client, school);
          return { outcome: 'updated', drift };
        }
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

/**
 * Pauses or unpauses the school's schedule with the note its settings call for: one patch, no
 * describe, nothing else touched (the hash leaves the state out). Throws ScheduleNotFoundError when
 * there is no schedule.
 */
export async function patchScheduleState(client: Client, school: ScheduleSettings): Promise<void> {
  const handle = client.schedule.getHandle(scheduleIdFor(school.schoolId));
  const note = scheduleNote(school);
  await withDeadline(client, () => (school.active ? handle.unpause(note) : handle.pause(note)));
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
    // Temporal lists the next fire times from the spec whether or not the schedule is paused, and a
    // describe straight after unpause may still report the pause; the caller decides from the database.
    return { paused: d.state.paused, nextRunAt: d.info.nextActionTimes[0] ?? null };
  } catch {
    return null;
  }
}

/** The school ids of every `powerschool-sync-*` schedule in the namespace. */
export async function listScheduledSchoolIds(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) {
    const schoolId = schoolIdFromScheduleId(s.scheduleId);
    if (schoolId !== undefined) ids.push(schoolId);
  }
  return ids;
}
