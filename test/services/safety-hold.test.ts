// The safety hold's thresholds as a pure rule: which commits wait for a person, and why.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../db/queries/safety-settings.js';
import { describeHoldReason, holdReasons } from '../../services/safety-hold.js';

const none = { departed: 0, updates: 0 };

describe('holdReasons', () => {
  it('holds 15% departures against the default 10%, with count, base, percent and limit', () => {
    expect(holdReasons({ base: 800, ...none, departed: 120 }, DEFAULT_SAFETY)).toEqual([
      { code: 'TOO_MANY_DEPARTURES', count: 120, base: 800, percent: 15, limit: 10 },
    ]);
  });

  it('holds 80% updates against the default 75%', () => {
    expect(holdReasons({ base: 300, ...none, updates: 240 }, DEFAULT_SAFETY)).toEqual([
      { code: 'TOO_MANY_UPDATES', count: 240, base: 300, percent: 80, limit: 75 },
    ]);
  });

  it('names both thresholds when both are crossed, departures first', () => {
    const reasons = holdReasons({ base: 100, departed: 11, updates: 76 }, DEFAULT_SAFETY);
    expect(reasons.map((r) => r.code)).toEqual(['TOO_MANY_DEPARTURES', 'TOO_MANY_UPDATES']);
  });

  it('does not hold exactly at a limit, nor below it', () => {
    expect(holdReasons({ base: 200, departed: 20, updates: 150 }, DEFAULT_SAFETY)).toEqual([]);
    expect(holdReasons({ base: 200, departed: 19, updates: 100 }, DEFAULT_SAFETY)).toEqual([]);
    // One over: 21 of 200 is 10.5%.
    expect(holdReasons({ base: 200, departed: 21, updates: 0 }, DEFAULT_SAFETY)[0]).toMatchObject({ percent: 10.5 });
  });

  it('never holds below minStudents, however large the share', () => {
    expect(holdReasons({ base: 19, departed: 19, updates: 19 }, DEFAULT_SAFETY)).toEqual([]);
    expect(holdReasons({ base: 20, departed: 19, updates: 0 }, DEFAULT_SAFETY)).toHaveLength(1);
  });

  it('never holds when the school turned the hold off', () => {
    expect(holdReasons({ base: 1000, departed: 1000, updates: 1000 }, { ...DEFAULT_SAFETY, enabled: false })).toEqual(
      [],
    );
  });

  it('a 0% limit holds any departure; minStudents 0 with no students holds nothing', () => {
    const strict = { ...DEFAULT_SAFETY, maxDepartedPercent: 0, minStudents: 0 };
    expect(holdReasons({ base: 50, departed: 1, updates: 0 }, strict)).toHaveLength(1);
    expect(holdReasons({ base: 0, departed: 0, updates: 0 }, strict)).toEqual([]);
  });

  it('rounds the percent shown to 0.1', () => {
    expect(holdReasons({ base: 300, departed: 0, updates: 227 }, DEFAULT_SAFETY)[0]!.percent).toBe(75.7);
    expect(holdReasons({ base: 3, departed: 1, updates: 0 }, { ...DEFAULT_SAFETY, minStudents: 0 })[0]!.percent).toBe(
      33.3,
    );
  });

  it('describes a reason in counts only', () => {
    expect(describeHoldReason({ code: 'TOO_MANY_UPDATES', count: 240, base: 300, percent: 80, limit: 75 })).toBe(
      'TOO_MANY_UPDATES: 240 of 300 active students would be updated (80%, limit 75%)',
    );
  });
});
