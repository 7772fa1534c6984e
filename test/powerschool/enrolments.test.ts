import { describe, expect, it } from 'vitest';
import { enrolmentOf } from '../../powerschool/enrolments.js';
import { schoolOf } from '../../powerschool/schools.js';

describe('enrolmentOf and schoolOf', () => {
  it('read string or number cells, any key case, and empty values as null', () => {
    expect(enrolmentOf({ DCID: '4711', enroll_status: '3', schoolid: 999999, grade_level: '99' })).toEqual({
      dcid: '4711',
      enrollStatus: 3,
      schoolNumber: 999999,
      gradeLevel: 99,
    });
    expect(enrolmentOf({ dcid: 12, enroll_status: '', schoolid: null })).toEqual({
      dcid: '12',
      enrollStatus: null,
      schoolNumber: null,
      gradeLevel: null,
    });
  });

  it('a row without a readable DCID answers for nobody', () => {
    expect(enrolmentOf({ enroll_status: '2' })).toBeNull();
    expect(enrolmentOf({ dcid: 'abc' })).toBeNull();
    expect(enrolmentOf(null)).toBeNull();
  });

  it('schools: number, trimmed name and grade span; no number, no school', () => {
    expect(schoolOf({ school_number: '101', name: ' North High ', low_grade: '9', high_grade: 12 })).toEqual({
      schoolNumber: 101,
      name: 'North High',
      lowGrade: 9,
      highGrade: 12,
    });
    expect(schoolOf({ name: 'Nowhere' })).toBeNull();
  });
});
