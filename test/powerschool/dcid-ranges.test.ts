import { describe, expect, it } from 'vitest';
import { planDcidRanges } from '../../powerschool/dcid-ranges.js';

describe('planDcidRanges', () => {
  it('covers every DCID, in numeric order whatever order they come in (text order would put 10002 before 1002)', () => {
    const ranges = planDcidRanges(['10002', '1002', '999', '10020'], 100, 50);
    expect(ranges).toEqual([
      { from: '999', to: '1002' },
      { from: '10002', to: '10020' },
    ]);
  });

  it('joins a DCID to the range when that adds at most one page, and never beyond maxPages', () => {
    // 100 apart with pages of 100: joining costs one more page at most, never worse than a request of its own.
    expect(planDcidRanges(['1', '101', '201'], 100, 50)).toEqual([{ from: '1', to: '201' }]);
    // Far apart: separate reads of one page each.
    expect(planDcidRanges(['1', '1000', '5000'], 100, 50)).toEqual([
      { from: '1', to: '1' },
      { from: '1000', to: '1000' },
      { from: '5000', to: '5000' },
    ]);
    // Dense, but capped at 2 pages of 10 per range.
    const dense = Array.from({ length: 60 }, (_, i) => String(i + 1));
    const capped = planDcidRanges(dense, 10, 2);
    expect(capped).toEqual([
      { from: '1', to: '20' },
      { from: '21', to: '40' },
      { from: '41', to: '60' },
    ]);
  });

  it('handles nothing, one DCID and 18-digit DCIDs', () => {
    expect(planDcidRanges([], 100, 50)).toEqual([]);
    expect(planDcidRanges(['42'], 100, 50)).toEqual([{ from: '42', to: '42' }]);
    expect(planDcidRanges(['900000000000000001', '900000000000000002'], 100, 50)).toEqual([
      { from: '900000000000000001', to: '900000000000000002' },
    ]);
  });
});
