/**
 * CSV as RFC 4180 writes it (CRLF line ends; a field with a quote, comma, CR or LF quoted, its
 * quotes doubled), made safe to open in a spreadsheet: a text cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a CR is prefixed with `'`, so a student named `=HYPERLINK(…)` stays text.
 * Numbers are written as numbers (a negative one is not prefixed: it is not text).
 */

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** A JSON value as one cell: scalars as themselves, objects and arrays as JSON text. */
export function jsonCell(value: unknown): CsvValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}
