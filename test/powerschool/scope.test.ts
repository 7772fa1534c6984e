import { describe, expect, it } from 'vitest';
import { afterDcidQuery, dcidRangeQuery, schoolPasses, scopeQuery } from '../../powerschool/scope.js';

describe('scope filters', () => {
  it('one keyset pass per selected school; no school: one pass over the district (v1)', () => {
    expect(schoolPasses({ gradeFrom: 9, gradeTo: 12 })).toEqual([{ gradeFrom: 9, gradeTo: 12 }]);
    expect(schoolPasses({ gradeFrom: 9, gradeTo: 12, schools: [] })).toEqual([
      { gradeFrom: 9, gradeTo: 12, schools: [] },
    ]);
    expect(schoolPasses({ gradeFrom: 9, gradeTo: 12, schools: [205, 101] })).toEqual([
      { gradeFrom: 9, gradeTo: 12, schools: [205] },
      { gradeFrom: 9, gradeTo: 12, schools: [101] },
    ]);
  });

  it('a pass of one school adds schoolid==N; the query has no OR, so several schools at once are refused', () => {
    expect(scopeQuery({ gradeFrom: 9, gradeTo: 12 })).toBe('grade_level=ge=9;grade_level=le=12;enroll_status==0');
    expect(afterDcidQuery({ gradeFrom: 9, gradeTo: 12, schools: [101] }, '4711')).toBe(
      'grade_level=ge=9;grade_level=le=12;enroll_status==0;schoolid==101;dcid=gt=4711',
    );
    expect(() => scopeQuery({ gradeFrom: 9, gradeTo: 12, schools: [101, 205] })).toThrow(RangeError);
    expect(() => scopeQuery({ gradeFrom: 9, gradeTo: 12, schools: [0] })).toThrow(RangeError);
  });

  it('a DCID range reads every record, without the scope filter, resuming after a DCID', () => {
    expect(dcidRangeQuery('100', '250', null)).toBe('dcid=ge=100;dcid=le=250');
    expect(dcidRangeQuery('100', '250', '180')).toBe('dcid=ge=100;dcid=le=250;dcid=gt=180');
    expect(() => dcidRangeQuery('100;enroll_status==0', '250', null)).toThrow(RangeError);
    // No "not equal" in the query language: records that are not enrolled are two filters.
    expect(dcidRangeQuery('100', '250', null, 'status-above-0')).toBe('dcid=ge=100;dcid=le=250;enroll_status=gt=0');
    expect(dcidRangeQuery('100', '250', '180', 'status-below-0')).toBe(
      'dcid=ge=100;dcid=le=250;enroll_status=lt=0;dcid=gt=180',
    );
  });
});
