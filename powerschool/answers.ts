// Reads PowerSchool's data answers (metadata, count, a table page) into plain values, or throws BAD_RESPONSE.
import { PowerSchoolError } from './errors.js';

/** PowerSchool's default page size, used when metadata does not say. */
const DEFAULT_MAX_PAGE_SIZE = 100;

function toNonNegativeInteger(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** The largest `pagesize` the table endpoint accepts, from `GET /ws/v1/metadata`. */
export function maxPageSizeOf(body: unknown): number {
  const metadata = (body as { metadata?: Record<string, unknown> } | null)?.metadata ?? {};
  const size =
    toNonNegativeInteger(metadata.schema_table_query_max_page_size) ??
    toNonNegativeInteger(metadata.student_max_page_size);
  return size && size > 0 ? size : DEFAULT_MAX_PAGE_SIZE;
}

/** The count of `GET /ws/schema/table/students/count`: `{"count": N}` (or under `resource`). */
export function countOf(body: unknown): number {
  const b = body as { count?: unknown; resource?: { count?: unknown } } | null;
  const count = toNonNegativeInteger(b?.count ?? b?.resource?.count);
  if (count === undefined)
    throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'student count: no count in the answer', {
      retryable: false,
    });
  return count;
}

/** The raw `tables.students` objects of one page of `GET /ws/schema/table/students`. */
export function studentRowsOf(body: unknown): unknown[] {
  return tableRowsOf(body, 'students');
}

/** The raw `tables.<table>` objects of one page of `GET /ws/schema/table/<table>`. */
export function tableRowsOf(body: unknown, table: 'students' | 'schools'): unknown[] {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', `${table} page: the answer is not an object`, {
      retryable: false,
    });
  // An empty page may leave out `record`; a lone record may come as an object.
  const record = (body as { record?: unknown }).record;
  const records = record === undefined || record === null ? [] : Array.isArray(record) ? record : [record];
  return records.map((r) => {
    const row = (r as { tables?: Record<string, unknown> } | null)?.tables?.[table];
    return row !== undefined ? row : r;
  });
}
