// A schedule's fire times as Temporal computes them: local times in a zone, daylight-saving gaps and repeats, the last due fire.
import { cronValues } from '../temporal/schedule-drift.js';

/**
 * Fire times of a 5-field cron line in an IANA zone, evaluated the way Temporal's server does: the
 * line is read by `cronValues` (the same reading the drift check uses), a date fires when its day of
 * month, month and day of week all match (Temporal ANDs them; classic cron ORs day of month and day
 * of week, which is why no cron library is used here), and a local time is matched literally: one
 * that the zone skips never fires, one it repeats fires twice. Zone rules come from the runtime's
 * ICU data through Intl; there is no table of our own.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's wall clock at an instant, as the UTC milliseconds that spell the same wall time. */
function wallClockMs(instant: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/** The zone's offset from UTC at an instant, in ms (whole seconds only; sub-second parts dropped). */
function offsetAt(instant: number, timeZone: string): number {
  const floored = Math.floor(instant / 1000) * 1000;
  return wallClockMs(floored, timeZone) - floored;
}

/**
 * The instants at which a wall time (given as UTC ms spelling it) happens in the zone: none when
 * the zone skips it, two when it repeats it. Assumes at most one offset change within a day either
 * side, which holds for every zone's daylight-saving rules.
 */
export function instantsOfWallTime(wall: number, timeZone: string): number[] {
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const out: number[] = [];
  for (const offset of before === after ? [before] : [before, after]) {
    const t = wall - offset;
    if (offsetAt(t, timeZone) === offset) out.push(t);
  }
  return out.sort((a, b) => a - b);
}

type Values = Exclude<ReturnType<typeof cronValues>, { unparsed: string }>;

function parse(cron: string): Values | undefined {
  const v = cronValues(cron);
  return 'unparsed' in v ? undefined : v;
}

/** A calendar date as UTC midnight ms; the helpers below walk dates with it. */
function dateParts(dayMs: number) {
  const d = new Date(dayMs);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}

function firesOnDate(v: Values, dayMs: number): boolean {
  const { month, day, weekday } = dateParts(dayMs);
  return v.dayOfMonth.includes(day) && v.month.includes(month) && v.dayOfWeek.includes(weekday);
}

/** Today's date in the zone, as UTC midnight ms. */
function localDay(instant: number, timeZone: string): number {
  return Math.floor(wallClockMs(instant, timeZone) / DAY) * DAY;
}

const pad = (n: number) => String(n).padStart(2, '0');
const isoDate = (dayMs: number) => new Date(dayMs).toISOString().slice(0, 10);

export interface DaylightSavingProblem {
  /** e.g. `fires at 02:00 on 2027-03-14, a time daylight saving skips in America/New_York`. */
  message: string;
}

/** The first fire date in the window whose local time the zone skips or repeats, for one hour value. */
function firstClash(
  v: Values,
  hour: number,
  timeZone: string,
  fromDay: number,
  days: number,
): { day: number; minute: number; kind: 'skips' | 'repeats' } | undefined {
  for (let day = fromDay; day < fromDay + days * DAY; day += DAY) {
    if (!firesOnDate(v, day)) continue;
    // A day with no offset change near it cannot clash: two Intl calls instead of one per minute.
    const noon = day + 12 * 3_600_000;
    if (offsetAt(noon - DAY, timeZone) === offsetAt(noon + DAY, timeZone)) continue;
    for (const minute of v.minute) {
      const n = instantsOfWallTime(day + hour * 3_600_000 + minute * MINUTE, timeZone).length;
      if (n !== 1) return { day, minute, kind: n === 0 ? 'skips' : 'repeats' };
    }
  }
  return undefined;
}

/**
 * The daylight-saving check of a schedule write: a cron whose hour field is one value is refused
 * when, on a date of the next `days` on which it fires, its local time is skipped or repeated in the
 * zone. Crons with several hour values (hourly and the like) are not checked: a skipped or doubled
 * hour among many is what their owners asked for. The message suggests the nearest hour that clashes
 * on none of those dates, with the cron line that says it.
 */
export function daylightSavingProblem(
  cron: string,
  timeZone: string,
  now = Date.now(),
  days = 400,
): DaylightSavingProblem | null {
  const v = parse(cron);
  if (!v || v.hour.length !== 1) return null;
  const hour = v.hour[0]!;
  const fromDay = localDay(now, timeZone);
  const clash = firstClash(v, hour, timeZone, fromDay, days);
  if (!clash) return null;
  let suggestion = '';
  for (let delta = 1; delta < 24 && !suggestion; delta++) {
    for (const h of [hour - delta, hour + delta]) {
      if (h < 0 || h > 23 || firstClash(v, h, timeZone, fromDay, days)) continue;
      const fields = cron.trim().split(/\s+/);
      fields[1] = String(h);
      suggestion = `${pad(h)}:${pad(clash.minute)} (\`${fields.join(' ')}\`)`;
      break;
    }
  }
  return {
    message:
      `fires at ${pad(hour)}:${pad(clash.minute)} on ${isoDate(clash.day)}, a local time daylight saving ` +
      `${clash.kind} in ${timeZone}, so that week's sync would ${clash.kind === 'skips' ? 'not run' : 'run twice'}; ` +
      (suggestion ? `choose a time that happens exactly once every day, e.g. ${suggestion}` : 'choose another time'),
  };
}

/** An inclusive range of calendar dates (YYYY-MM-DD) in the schedule's zone. */
export interface DateRange {
  from: string;
  to: string;
}

function inBlackout(dayMs: number, blackouts: readonly DateRange[]): boolean {
  const date = isoDate(dayMs);
  return blackouts.some((b) => b.from <= date && date <= b.to);
}

/**
 * The latest nominal (unjittered) fire time ≤ `now` and ≥ `since` of a cron in a zone, skipping
 * blackout dates; null when there is none. Looks back at most `maxDays` (a cron that fires on
 * 29 February only is the worst case: about four years).
 */
export function lastNominalFire(
  cron: string,
  timeZone: string,
  blackouts: readonly DateRange[],
  since: Date,
  now: Date = new Date(),
  maxDays = 1500,
): Date | null {
  const v = parse(cron);
  if (!v) return null;
  const lowest = since.getTime();
  const highest = now.getTime();
  const firstDay = localDay(lowest, timeZone);
  for (let day = localDay(highest, timeZone), n = 0; day >= firstDay - DAY && n <= maxDays; day -= DAY, n++) {
    if (!firesOnDate(v, day) || inBlackout(day, blackouts)) continue;
    let best = -Infinity;
    for (const hour of v.hour) {
      for (const minute of v.minute) {
        for (const t of instantsOfWallTime(day + hour * 3_600_000 + minute * MINUTE, timeZone)) {
          if (t <= highest && t >= lowest && t > best) best = t;
        }
      }
    }
    if (best > -Infinity) return new Date(best);
  }
  return null;
}

/** Today's date (YYYY-MM-DD) in a zone, for dropping blackouts that have passed. */
export function todayIn(timeZone: string, now = Date.now()): string {
  return isoDate(localDay(now, timeZone));
}

/** Whether YYYY-MM-DD names a real calendar date. */
export function isRealDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}
