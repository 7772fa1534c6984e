// Whether a school's Temporal schedule already says what its settings call for.
import { createHash } from 'node:crypto';
import {
  DAYS_OF_WEEK,
  MONTHS,
  type CalendarSpec,
  type CalendarSpecDescription,
  type ScheduleDescription,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';

/**
 * Does a school's Temporal schedule already say what its settings call for? Updating a schedule
 * that did not need it is not free: an update that lands between a fire's nominal time and its
 * jittered start loses that run. So the reconciler updates only when this finds a difference.
 *
 * Two checks, because neither is enough alone:
 * - the action's memo carries a hash of the desired schedule (spec, action, policies, as this code
 *   builds it; the state is compared field by field below). Any change of settings, or of the code's idea of a schedule (a new
 *   action option, say), changes the hash. `describe()` cannot be compared with the desired
 *   options directly: the server compiles cron lines into calendars and drops what it defaults.
 * - what `describe()` does show faithfully is compared field by field, so an edit made behind our
 *   back (UI, CLI) is caught even when it kept our memo: paused state and note, time zone, jitter,
 *   the calendars (as the sets of values each field matches, so a cron line and the server's
 *   compiled ranges compare equal), intervals, skips, the workflow it starts and where, policies.
 */

/** The action memo key holding the desired schedule's hash (also copied to every run it starts). */
export const SCHEDULE_HASH_MEMO_KEY = 'desiredScheduleHash';

/** JSON with object keys sorted, so the same options always hash the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The options with the hash of everything else in them stored in the action's memo. The state
 * (paused, note) is left out: describe() shows it faithfully, so it is compared field by field, and
 * a pause or resume can then be applied with one patch (pause/unpause with its note) that leaves
 * the hash true, instead of a describe-and-replace of the whole schedule.
 */
export function withScheduleHash(options: ScheduleUpdateOptions): ScheduleUpdateOptions {
  const { state: _state, ...hashed } = options;
  const hash = `sha256:${createHash('sha256').update(canonicalJson(hashed)).digest('hex')}`;
  return {
    ...options,
    action: { ...options.action, memo: { ...options.action.memo, [SCHEDULE_HASH_MEMO_KEY]: hash } },
  };
}

type FieldName = Exclude<keyof CalendarSpec, 'comment'>;
/** Each calendar field as the sorted values it matches; `year` matches every year when empty. */
type CalendarValues = Record<FieldName, number[]>;

const FIELDS: Record<FieldName, { min: number; max: number; unset: 'zero' | 'all' }> = {
  second: { min: 0, max: 59, unset: 'zero' },
  minute: { min: 0, max: 59, unset: 'zero' },
  hour: { min: 0, max: 23, unset: 'zero' },
  dayOfMonth: { min: 1, max: 31, unset: 'all' },
  month: { min: 1, max: 12, unset: 'all' },
  year: { min: 0, max: 0, unset: 'all' },
  dayOfWeek: { min: 0, max: 6, unset: 'all' },
};

function everyValue(field: FieldName): number[] {
  if (field === 'year') return [];
  const { min, max } = FIELDS[field];
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

/** A month or weekday name (the SDK's spelling) as its number; numbers pass through. */
function fieldNumber(field: FieldName, v: unknown): number {
  if (typeof v === 'number') return v;
  if (field === 'month') return (MONTHS as readonly unknown[]).indexOf(v) + 1;
  if (field === 'dayOfWeek') return (DAYS_OF_WEEK as readonly unknown[]).indexOf(v);
  return NaN;
}

function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** A calendar as written (SDK options) or as described by the server, reduced to its value sets. */
export function calendarValues(cal: CalendarSpec | CalendarSpecDescription): CalendarValues {
  const out = {} as CalendarValues;
  for (const field of Object.keys(FIELDS) as FieldName[]) {
    const raw: unknown = cal[field];
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0 && field !== 'year')) {
      out[field] = FIELDS[field].unset === 'zero' ? [0] : everyValue(field);
      continue;
    }
    if (raw === '*') {
      out[field] = everyValue(field);
      continue;
    }
    const values: number[] = [];
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      if (item && typeof item === 'object') {
        const r = item as { start: unknown; end?: unknown; step?: number };
        const start = fieldNumber(field, r.start);
        const end = Math.max(start, r.end === undefined ? start : fieldNumber(field, r.end));
        for (let v = start; v <= end; v += r.step && r.step > 0 ? r.step : 1) values.push(v);
      } else values.push(fieldNumber(field, item));
    }
    out[field] = field === 'year' && values.length === 0 ? [] : sortedUnique(values);
  }
  return out;
}

const CRON_FIELDS: FieldName[] = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'];
const CRON_NAMES: Partial<Record<FieldName, { names: readonly string[]; minLength: number; offset: number }>> = {
  month: { names: MONTHS, minLength: 3, offset: 1 },
  dayOfWeek: { names: DAYS_OF_WEEK, minLength: 2, offset: 0 },
};

/**
 * A 5-field cron line reduced to value sets the way Temporal's server reads it (`x`, `x-y`, `x/s`
 * meaning x to the field's end, `*`, lists, name prefixes, weekday 7 = Sunday). Anything else is
 * returned as written: it then never equals a described calendar, so such a schedule is simply
 * rewritten on every pass, as all schedules were before this check existed.
 */
export function cronValues(cron: string): CalendarValues | { unparsed: string } {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== CRON_FIELDS.length) return { unparsed: cron };
  const out: CalendarValues = { second: [0], year: [] } as unknown as CalendarValues;
  for (const [i, field] of CRON_FIELDS.entries()) {
    const { min } = FIELDS[field];
    const max = field === 'dayOfWeek' ? 7 : FIELDS[field].max;
    const parseValue = (s: string): number => {
      const named = CRON_NAMES[field];
      if (named && s.length >= named.minLength && /^[a-z]+$/i.test(s)) {
        const index = named.names.findIndex((n) => n.startsWith(s.toUpperCase()));
        return index < 0 ? NaN : index + named.offset;
      }
      return /^\d+$/.test(s) ? Number(s) : NaN;
    };
    const values: number[] = [];
    for (const item of parts[i]!.split(',')) {
      const m = /^([^/-]+)(?:-([^/-]+))?(?:\/(\d+))?$/.exec(item);
      if (!m) return { unparsed: cron };
      const step = m[3] === undefined ? 1 : Number(m[3]);
      let start = min;
      let end = max;
      if (m[1] !== '*') {
        start = parseValue(m[1]!);
        end = m[2] !== undefined ? parseValue(m[2]) : m[3] !== undefined ? max : start;
      } else if (m[2] !== undefined) return { unparsed: cron };
      if (!(start >= min && end <= max && start <= end && step >= 1)) return { unparsed: cron };
      for (let v = start; v <= end; v += step) values.push(field === 'dayOfWeek' ? v % 7 : v);
    }
    out[field] = sortedUnique(values);
  }
  return out;
}

function ms(d: Parameters<typeof msToNumber>[0] | undefined): number {
  return d === undefined ? 0 : msToNumber(d);
}

/** Drift in these parts only can be applied with a pause/unpause patch (see withScheduleHash). */
export const STATE_PARTS: readonly string[] = ['state.paused', 'state.note'];

/**
 * What differs between the schedule Temporal has and the one the settings call for (built with
 * withScheduleHash): the names of the parts that differ, empty when nothing does.
 */
export function scheduleDrift(current: ScheduleDescription, desired: ScheduleUpdateOptions): string[] {
  const drift: string[] = [];
  const compare = (part: string, actual: unknown, wanted: unknown) => {
    if (canonicalJson(actual) !== canonicalJson(wanted)) drift.push(part);
  };
  const { spec, action, policies } = desired;
  // The SDK's type of an update's state (an Omit over an optional object) hides its fields.
  const state = desired.state as { paused?: boolean; note?: string } | undefined;

  compare('desiredScheduleHash', current.action.memo?.[SCHEDULE_HASH_MEMO_KEY], action.memo?.[SCHEDULE_HASH_MEMO_KEY]);

  compare('state.paused', current.state.paused, state?.paused ?? false);
  compare('state.note', current.state.note ?? '', state?.note ?? '');

  compare('spec.timezone', current.spec.timezone ?? '', spec.timezone ?? '');
  compare('spec.jitter', current.spec.jitter ?? 0, ms(spec.jitter));
  // The server lists calendars given as such first, then those compiled from cron lines.
  compare('spec.calendars', (current.spec.calendars ?? []).map(calendarValues), [
    ...(spec.calendars ?? []).map(calendarValues),
    ...(spec.cronExpressions ?? []).map(cronValues),
  ]);
  compare('spec.skip', (current.spec.skip ?? []).map(calendarValues), (spec.skip ?? []).map(calendarValues));
  compare(
    'spec.intervals',
    (current.spec.intervals ?? []).map((i) => [ms(i.every), ms(i.offset)]),
    (spec.intervals ?? []).map((i) => [ms(i.every), ms(i.offset)]),
  );
  compare('spec.startAt', current.spec.startAt?.getTime(), spec.startAt?.getTime());
  compare('spec.endAt', current.spec.endAt?.getTime(), spec.endAt?.getTime());

  compare('action.workflowType', current.action.workflowType, action.workflowType);
  compare('action.workflowId', current.action.workflowId, action.workflowId);
  compare('action.taskQueue', current.action.taskQueue, action.taskQueue);
  compare('action.args', current.action.args, action.args ?? []);

  compare('policies.overlap', current.policies.overlap, policies?.overlap);
  compare('policies.catchupWindow', current.policies.catchupWindow, ms(policies?.catchupWindow));
  compare('policies.pauseOnFailure', current.policies.pauseOnFailure, policies?.pauseOnFailure ?? false);
  return drift;
}
