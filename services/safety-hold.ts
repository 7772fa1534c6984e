// The safety hold's rule: whether a commit's departures and updates are too many for its school to write unseen.
import type { SafetySettings } from '../db/queries/safety-settings.js';
import type { HoldReason } from '../db/types.js';

/** What a commit would do, counted before it writes (db/queries/run-hold.ts counts them). */
export interface HoldFigures {
  /** The school's students with status `active` when the diff was computed. */
  base: number;
  /** Active students the commit would mark departed. */
  departed: number;
  /** Updates of active students that count toward the hold (links, returns and fills do not). */
  updates: number;
}

/**
 * The thresholds a commit crosses (none: it writes at once). Integer arithmetic on both sides
 * (`count × 100 > limit × base`), so a commit exactly at the limit is not held whatever the
 * rounding of the percent shown. Test runs and a school's first commit are decided by the caller.
 */
export function holdReasons(figures: HoldFigures, settings: SafetySettings): HoldReason[] {
  if (!settings.enabled || figures.base < settings.minStudents) return [];
  const reasons: HoldReason[] = [];
  const over = (count: number, limit: number) => count * 100 > limit * figures.base;
  if (over(figures.departed, settings.maxDepartedPercent))
    reasons.push(reason('TOO_MANY_DEPARTURES', figures.departed, figures.base, settings.maxDepartedPercent));
  if (over(figures.updates, settings.maxUpdatedPercent))
    reasons.push(reason('TOO_MANY_UPDATES', figures.updates, figures.base, settings.maxUpdatedPercent));
  return reasons;
}

function reason(code: HoldReason['code'], count: number, base: number, limit: number): HoldReason {
  return { code, count, base, percent: base === 0 ? 0 : Math.round((count * 1000) / base) / 10, limit };
}

/** One line per reason, for the workflow's details and the hold email: counts only, no student data. */
export function describeHoldReason(r: HoldReason): string {
  const what = r.code === 'TOO_MANY_DEPARTURES' ? 'would leave' : 'would be updated';
  return `${r.code}: ${r.count} of ${r.base} active students ${what} (${r.percent}%, limit ${r.limit}%)`;
}
