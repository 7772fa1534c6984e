// One zod schema per student column: each cell read into its normalised value, or an issue with its code.
import { z } from 'zod';

const NAME_MAX_LENGTH = 50;
const GENDER_MAX_LENGTH = 20;
const MIN_YEAR = 1900;
const MAX_YEAR = 2100;

/** An issue raised inside a column schema; `params.code` carries our issue code through zod. */
function fail(ctx: z.RefinementCtx, code: string, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { code } });
  return z.NEVER;
}

/** Marks a cell whose type was wrong (the issue is already recorded on the context). */
const WRONG_TYPE = Symbol('wrong type');

/**
 * A cell as PowerSchool sends it: a string, a number (some servers send numbers), or nothing
 * (absent, null or ""). Normalised to a trimmed string or null.
 */
function cellText(value: unknown, ctx: z.RefinementCtx): string | null | typeof WRONG_TYPE {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return String(value);
    fail(ctx, 'INVALID_TYPE', 'not a finite number');
    return WRONG_TYPE;
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? null : trimmed;
  }
  fail(ctx, 'INVALID_TYPE', `expected a string or number, got ${Array.isArray(value) ? 'array' : typeof value}`);
  return WRONG_TYPE;
}

/** "1234", "1234.0", "1234.000" and 1234 are the same integer; "1234.5" is not an integer. */
const INTEGER_TEXT = /^([+-]?)(\d{1,15})(?:\.0*)?$/;

function integerText(text: string): string | null {
  const m = INTEGER_TEXT.exec(text);
  if (!m) return null;
  const digits = m[2]!.replace(/^0+(?=\d)/, '');
  return m[1] === '-' && digits !== '0' ? `-${digits}` : digits;
}

export const dcidSchema = z.unknown().transform((value, ctx) => {
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return fail(ctx, 'MISSING', 'DCID is missing');
  const canonical = integerText(text);
  if (canonical === null || canonical.startsWith('-') || canonical === '0')
    return fail(ctx, 'INVALID_ID', 'DCID is not a positive integer');
  return canonical;
});

export const studentNumberSchema = z.unknown().transform((value, ctx) => {
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return null;
  const canonical = integerText(text);
  if (canonical === null) return fail(ctx, 'INVALID_NUMBER', 'student number is not an integer');
  return canonical;
});

/** Control characters never belong in a name; any run of whitespace becomes one space. */
const CONTROL_CHARS = /\p{Cc}/gu;
const HAS_CONTROL_CHAR = /\p{Cc}/u;
const WHITESPACE_RUN = /\s+/gu;

function nameSchema(label: string) {
  return z.unknown().transform((value, ctx) => {
    const text = cellText(value, ctx);
    if (text === WRONG_TYPE) return z.NEVER;
    if (text === null) return fail(ctx, 'MISSING', `${label} is missing`);
    // NFC so that "José" typed with a combining accent and with a precomposed é compare equal.
    const cleaned = text.replace(WHITESPACE_RUN, ' ').replace(CONTROL_CHARS, '').trim().normalize('NFC');
    if (cleaned === '') return fail(ctx, 'MISSING', `${label} is missing`);
    const length = [...cleaned].length;
    if (length > NAME_MAX_LENGTH)
      return fail(ctx, 'TOO_LONG', `${label} is ${length} characters long (at most ${NAME_MAX_LENGTH})`);
    return cleaned;
  });
}

// Built once: building a zod schema per row cost more than validating the row.
export const firstNameSchema = nameSchema('first name');
export const lastNameSchema = nameSchema('last name');

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

/**
 * A date of birth is a calendar date, so it is read as text and never passed through `Date`
 * (which would shift it by the process's time zone). Accepts `YYYY-MM-DD`, the same followed by a
 * time part (the date part is kept as written), and the US `MM/DD/YYYY` of PowerSchool's UI.
 */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;

export const dateOfBirthSchema = z.unknown().transform((value, ctx) => {
  if (typeof value === 'number') return fail(ctx, 'INVALID_TYPE', 'date of birth is a number, not a date');
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return null;
  const iso = ISO_DATE.exec(text);
  const us = iso ? null : US_DATE.exec(text);
  const parts = iso ? [iso[1], iso[2], iso[3]] : us ? [us[3], us[1], us[2]] : null;
  if (!parts) return fail(ctx, 'INVALID_DATE', 'date of birth is not a YYYY-MM-DD date');
  const [year, month, day] = parts.map(Number) as [number, number, number];
  if (year < MIN_YEAR || year > MAX_YEAR || !isCalendarDate(year, month, day))
    return fail(ctx, 'INVALID_DATE', 'date of birth is not a real calendar date');
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
});

export const genderSchema = z.unknown().transform((value, ctx) => {
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return null;
  if (HAS_CONTROL_CHAR.test(text)) return fail(ctx, 'INVALID_VALUE', 'gender code contains control characters');
  if (text.length > GENDER_MAX_LENGTH)
    return fail(ctx, 'TOO_LONG', `gender code is longer than ${GENDER_MAX_LENGTH} characters`);
  // Unknown codes are kept as given (upper-cased): newer servers send more than M and F.
  return text.toUpperCase();
});

export const gradeLevelSchema = z.unknown().transform((value, ctx) => {
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return null;
  const canonical = integerText(text);
  if (canonical === null || Math.abs(Number(canonical)) > 99)
    return fail(ctx, 'INVALID_NUMBER', 'grade level is not an integer');
  return Number(canonical);
});

/** A school number or an enrolment status: an integer, or null when absent. */
export const integerCellSchema = z.unknown().transform((value, ctx) => {
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return null;
  const canonical = integerText(text);
  if (canonical === null) return fail(ctx, 'INVALID_NUMBER', 'not an integer');
  return Number(canonical);
});

export const graduationYearSchema = z.unknown().transform((value, ctx) => {
  const text = cellText(value, ctx);
  if (text === WRONG_TYPE) return z.NEVER;
  if (text === null) return fail(ctx, 'MISSING', 'graduation year is missing');
  const canonical = integerText(text);
  if (canonical === null) return fail(ctx, 'INVALID_YEAR', 'graduation year is not a whole number');
  const year = Number(canonical);
  if (year === 0) return fail(ctx, 'INVALID_YEAR', 'graduation year is 0 (unknown in PowerSchool)');
  if (year < MIN_YEAR || year > MAX_YEAR)
    return fail(ctx, 'INVALID_YEAR', `graduation year ${year} is outside ${MIN_YEAR}–${MAX_YEAR}`);
  return year;
});
