// Checks on settings values zod's built-ins do not cover: cron lines, IANA time zones, the PowerSchool server URL.
import { hostProblem } from '../powerschool/ssrf.js';
import { isRealDate } from '../services/schedules-calendar.js';

/**
 * Checks on settings values that zod's built-ins do not cover: cron lines, IANA time zones and
 * the PowerSchool server URL (the first line of SSRF defence; the PowerSchool client checks the
 * resolved address again at connect time).
 */

const CRON_FIELDS: Array<{ name: string; min: number; max: number; names?: string[] }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/** A standard 5-field cron line (numbers, names, `*`, ranges, steps, lists). Returns a problem or null. */
export function cronProblem(cron: string): string | null {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return 'must have 5 fields: minute hour day-of-month month day-of-week';
  for (const [i, field] of fields.entries()) {
    const spec = CRON_FIELDS[i]!;
    for (const item of field.split(',')) {
      const m = /^(\*|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/(\d{1,2}))?$/.exec(item);
      if (!m) return `${spec.name}: "${item}" is not a value, range or step`;
      const value = (v: string | undefined) => {
        if (v === undefined) return undefined;
        if (/^\d{1,2}$/.test(v)) return Number(v);
        const idx = spec.names?.indexOf(v.toUpperCase()) ?? -1;
        return idx >= 0 ? idx + (spec.min === 1 ? 1 : 0) : NaN;
      };
      const [from, to, step] = [value(m[2]), value(m[3]), m[4] === undefined ? undefined : Number(m[4])];
      for (const v of [from, to]) {
        if (v !== undefined && !(v >= spec.min && v <= spec.max)) {
          return `${spec.name}: values must be ${spec.min}–${spec.max}`;
        }
      }
      if (from !== undefined && to !== undefined && from > to) return `${spec.name}: range start after its end`;
      if (step !== undefined && (step < 1 || step > spec.max)) return `${spec.name}: step must be 1–${spec.max}`;
    }
  }
  return null;
}

/** A blackout date: YYYY-MM-DD naming a real calendar date. Returns a problem or null. */
export function blackoutDateProblem(date: string): string | null {
  return isRealDate(date) ? null : 'must be a real calendar date, YYYY-MM-DD';
}

let zones: Set<string> | undefined;

/** An IANA time zone name, spelled as the tz database spells it (Temporal's server is case-sensitive). */
export function isIanaTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/.test(tz) || tz.length > 64) return false;
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);
  if (zones.has(tz)) return true;
  // Links such as Asia/Calcutta or US/Eastern: accepted when ICU knows them and the case is not a guess.
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    return resolved.toLowerCase() !== tz.toLowerCase() && /^[A-Z]/.test(tz) && !/\/[a-z]/.test(tz);
  } catch {
    return false;
  }
}

export type ServerUrlResult = { ok: true; origin: string } | { ok: false; message: string };

/**
 * `serverUrl` must be an origin: https (http only when insecure URLs are allowed), no credentials,
 * no path other than `/`, no query or fragment, and not an address or name the PowerSchool client
 * would refuse (powerschool/ssrf.ts owns that list). Returns the normalised origin to store.
 */
export function checkServerUrl(raw: string, opts: { allowInsecure: boolean }): ServerUrlResult {
  if (!URL.canParse(raw))
    return { ok: false, message: 'must be an absolute URL such as https://district.powerschool.com' };
  const url = new URL(raw);
  const allowed = opts.allowInsecure ? ['https:', 'http:'] : ['https:'];
  if (!allowed.includes(url.protocol)) return { ok: false, message: 'must use https' };
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(raw.trim())) {
    return { ok: false, message: 'must not contain credentials' };
  }
  // Checked on the raw text too: the URL parser drops an empty `?` or `#`.
  if (url.search || url.hash || /[?#]/.test(raw)) return { ok: false, message: 'must not contain a query or fragment' };
  if (url.pathname !== '/') return { ok: false, message: 'must be an origin only (no path)' };
  const problem = hostProblem(url.hostname, { insecure: opts.allowInsecure });
  if (problem) return { ok: false, message: problem };
  return { ok: true, origin: url.origin };
}
