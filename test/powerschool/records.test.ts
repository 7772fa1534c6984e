import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseStudent, STUDENT_COLUMNS, type NormaliseResult } from '../../powerschool/records.js';

const valid = {
  dcid: '4711',
  id: '12',
  student_number: '1234',
  first_name: 'Ana',
  last_name: 'García',
  dob: '2008-05-01',
  gender: 'F',
  grade_level: '11',
  sched_yearofgraduation: '2027',
  enroll_status: '0',
  schoolid: '100',
};

function ok(result: NormaliseResult) {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.issues)}`);
  return result;
}

describe('normaliseStudent', () => {
  it('normalises a typical string row', () => {
    expect(normaliseStudent(valid)).toEqual({
      ok: true,
      student: {
        dcid: '4711',
        studentNumber: '1234',
        firstName: 'Ana',
        lastName: 'García',
        graduationYear: 2027,
        dateOfBirth: '2008-05-01',
        gender: 'F',
        gradeLevel: 11,
        schoolNumber: 100,
      },
      issues: [],
    });
  });

  it('accepts numbers where strings are usual', () => {
    const r = ok(
      normaliseStudent({ ...valid, dcid: 4711, student_number: 1234, grade_level: 11, sched_yearofgraduation: 2027 }),
    );
    expect(r.student).toMatchObject({ dcid: '4711', studentNumber: '1234', gradeLevel: 11, graduationYear: 2027 });
  });

  it('reads "1234.0" as student number 1234 and a DCID "4711.0" as 4711', () => {
    const r = ok(normaliseStudent({ ...valid, student_number: '1234.0', dcid: '4711.0' }));
    expect(r.student.studentNumber).toBe('1234');
    expect(r.student.dcid).toBe('4711');
    expect(ok(normaliseStudent({ ...valid, student_number: 1234.0 })).student.studentNumber).toBe('1234');
  });

  it('treats absent, null and "" the same for optional fields', () => {
    for (const empty of [undefined, null, '', '   ']) {
      const row: Record<string, unknown> = {
        ...valid,
        dob: empty,
        gender: empty,
        student_number: empty,
        grade_level: empty,
      };
      const r = ok(normaliseStudent(row));
      expect(r.student).toMatchObject({ dateOfBirth: null, gender: null, studentNumber: null, gradeLevel: null });
      expect(r.issues).toEqual([]);
    }
    const { dob: _dob, gender: _gender, ...withoutOptional } = valid;
    expect(ok(normaliseStudent(withoutOptional)).student).toMatchObject({ dateOfBirth: null, gender: null });
  });

  it('keeps every Unicode letter, apostrophes, hyphens and spaces; trims', () => {
    const names = [
      'José',
      'Zoë',
      'Łukasz',
      "O'Brien",
      'Smith-Jones',
      'van der Berg',
      'Þórsdóttir',
      'Анна',
      '李',
      'Nguyễn Anh',
    ];
    for (const name of names) {
      const r = ok(normaliseStudent({ ...valid, first_name: `  ${name}  `, last_name: name }));
      expect(r.student.firstName).toBe(name);
      expect(r.student.lastName).toBe(name);
    }
  });

  it('composes accents (NFC) and collapses whitespace runs', () => {
    const r = ok(normaliseStudent({ ...valid, first_name: 'Jose\u0301', last_name: 'de  la\tCruz' }));
    expect(r.student.firstName).toBe('José');
    expect(r.student.lastName).toBe('de la Cruz');
  });

  it('skips a record whose name is missing or longer than 50 characters', () => {
    const missing = normaliseStudent({ ...valid, first_name: '  ' });
    expect(missing).toMatchObject({ ok: false, dcid: '4711' });
    expect(missing.issues).toEqual([expect.objectContaining({ field: 'first_name', code: 'MISSING', skipped: true })]);
    const long = normaliseStudent({ ...valid, last_name: 'x'.repeat(51) });
    expect(long.issues).toEqual([expect.objectContaining({ field: 'last_name', code: 'TOO_LONG', skipped: true })]);
    expect(normaliseStudent({ ...valid, last_name: 'é'.repeat(50) }).ok).toBe(true);
  });

  it('keeps the date of birth as the calendar date, whatever the time zone', () => {
    expect(ok(normaliseStudent({ ...valid, dob: '2008-01-01' })).student.dateOfBirth).toBe('2008-01-01');
    expect(ok(normaliseStudent({ ...valid, dob: '2008-12-31T00:00:00.000Z' })).student.dateOfBirth).toBe('2008-12-31');
    expect(ok(normaliseStudent({ ...valid, dob: '2008-03-01T23:30:00-08:00' })).student.dateOfBirth).toBe('2008-03-01');
    expect(ok(normaliseStudent({ ...valid, dob: '2/29/2008' })).student.dateOfBirth).toBe('2008-02-29');
  });

  it('reports an impossible date of birth but still syncs the student', () => {
    for (const dob of ['2008-02-30', '2007-02-29', '2008-13-01', '0000-00-00', 'yesterday']) {
      const r = ok(normaliseStudent({ ...valid, dob }));
      expect(r.student.dateOfBirth).toBeNull();
      expect(r.issues).toEqual([
        { dcid: '4711', field: 'dob', code: 'INVALID_DATE', message: expect.any(String), skipped: false },
      ]);
    }
    expect(ok(normaliseStudent({ ...valid, dob: 20080501 })).issues[0]).toMatchObject({ code: 'INVALID_TYPE' });
  });

  it('upper-cases gender, keeps unknown codes, empty is null', () => {
    expect(ok(normaliseStudent({ ...valid, gender: 'f' })).student.gender).toBe('F');
    expect(ok(normaliseStudent({ ...valid, gender: ' nb ' })).student.gender).toBe('NB');
    expect(ok(normaliseStudent({ ...valid, gender: '' })).student.gender).toBeNull();
  });

  it('skips a graduation year that is 0, empty or absurd', () => {
    for (const [year, code] of [
      ['0', 'INVALID_YEAR'],
      [0, 'INVALID_YEAR'],
      ['', 'MISSING'],
      [null, 'MISSING'],
      [undefined, 'MISSING'],
      ['20277', 'INVALID_YEAR'],
      ['1776', 'INVALID_YEAR'],
      ['2027.5', 'INVALID_YEAR'],
      ['next year', 'INVALID_YEAR'],
    ] as const) {
      const r = normaliseStudent({ ...valid, sched_yearofgraduation: year });
      expect(r.ok, String(year)).toBe(false);
      expect(r.issues).toEqual([expect.objectContaining({ field: 'sched_yearofgraduation', code, skipped: true })]);
    }
    expect(ok(normaliseStudent({ ...valid, sched_yearofgraduation: '2027.0' })).student.graduationYear).toBe(2027);
  });

  it('skips a record without a usable DCID', () => {
    const missing = normaliseStudent({ ...valid, dcid: undefined });
    expect(missing).toEqual({
      ok: false,
      dcid: '',
      issues: [{ dcid: '', field: 'dcid', code: 'MISSING', message: expect.any(String), skipped: true }],
    });
    const invalid = normaliseStudent({ ...valid, dcid: 'abc' });
    expect(invalid).toMatchObject({ ok: false, dcid: 'abc', issues: [{ field: 'dcid', code: 'INVALID_ID' }] });
    expect(normaliseStudent({ ...valid, dcid: '-5' }).ok).toBe(false);
  });

  it('marks every issue of a skipped record as skipped and names the DCID', () => {
    const r = normaliseStudent({ ...valid, first_name: '', dob: '2008-02-30' });
    expect(r.ok).toBe(false);
    expect(r.issues.map((i) => [i.field, i.skipped, i.dcid])).toEqual([
      ['first_name', true, '4711'],
      ['dob', true, '4711'],
    ]);
  });

  it('reports a wrong value type instead of throwing', () => {
    const r = normaliseStudent({ ...valid, first_name: { nested: true }, gender: ['F'] });
    expect(r.ok).toBe(false);
    expect(r.issues.map((i) => [i.field, i.code])).toEqual([
      ['first_name', 'INVALID_TYPE'],
      ['gender', 'INVALID_TYPE'],
    ]);
  });

  it('accepts the whole table record and upper-case column names', () => {
    expect(ok(normaliseStudent({ id: 4711, name: 'Students', tables: { students: valid } })).student.dcid).toBe('4711');
    const upper = Object.fromEntries(Object.entries(valid).map(([k, v]) => [k.toUpperCase(), v]));
    expect(ok(normaliseStudent(upper)).student.lastName).toBe('García');
  });

  it('rejects non-objects as a record issue', () => {
    for (const raw of [null, undefined, 42, 'row', [valid], true]) {
      expect(normaliseStudent(raw)).toMatchObject({
        ok: false,
        dcid: '',
        issues: [{ field: 'record', skipped: true }],
      });
    }
  });

  it('never throws on arbitrary JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const r = normaliseStudent(raw);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on rows with arbitrary cell values, and ok rows are well-formed (property)', () => {
    const cell = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.constant(undefined),
      fc.constant(''),
      fc.jsonValue(),
    );
    const row = fc.record(Object.fromEntries(STUDENT_COLUMNS.map((c) => [c, cell])), { requiredKeys: [] });
    fc.assert(
      fc.property(row, (raw) => {
        const r = normaliseStudent(raw);
        if (r.ok) {
          expect(r.student.dcid).toMatch(/^[1-9]\d*$/);
          expect(r.student.firstName.length).toBeGreaterThan(0);
          expect(r.student.graduationYear).toBeGreaterThanOrEqual(1900);
          expect(r.issues.every((i) => !i.skipped)).toBe(true);
          if (r.student.dateOfBirth !== null) expect(r.student.dateOfBirth).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        } else {
          expect(r.issues.length).toBeGreaterThan(0);
          expect(r.issues.every((i) => i.skipped)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
