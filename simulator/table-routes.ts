// The simulator's PowerSchool data endpoints: metadata, the students table (projection, q, paging, sort) and its count.
import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from './faults.js';
import { compileQuery, parseQuery, type Condition, type QueryError } from './query.js';
import { tableRecord } from './serialise.js';
import { STUDENT_TABLE_COLUMNS, type SimulatedStudent, type StudentColumn, type StudentStore } from './students.js';

type TableQuery = Record<string, string | undefined>;

/** The STUDENTS columns the plugin was granted; others are refused 403 "No access to the field". */
export class ColumnGrants {
  private columns: Set<string>;
  constructor(columns: readonly string[]) {
    this.columns = new Set(columns.map((c) => c.toLowerCase()));
  }
  set(columns: readonly string[]): void {
    this.columns = new Set(columns.map((c) => c.toLowerCase()));
  }
  has(column: string): boolean {
    return this.columns.has(column);
  }
  list(): string[] {
    return [...this.columns];
  }
}

export interface TableRoutesOptions {
  store: StudentStore;
  faults: FaultInjector;
  grants: ColumnGrants;
  /** Maximum and default page size. */
  maxPageSize: number;
}

function validationFailed(fields: string[], code: string) {
  return {
    message: 'Validation Failed',
    errors: fields.map((f) => ({ resource: 'students', field: `students.${f}`, code })),
  };
}

export function registerTableRoutes(app: FastifyInstance, { store, faults, grants, maxPageSize }: TableRoutesOptions) {
  /**
   * The rows a query selects, in its sort order. Sorted by DCID, a query's DCID bounds (the
   * keyset cursor `dcid=gt=…`, a range `dcid=ge=…;dcid=le=…`) are cut from the view of its other
   * clauses by binary search, so every page of one scope shares one cached view: a keyset read
   * costs the simulator what a page-number read does. The bounds come back as indexes into the
   * cached view, so a page copies only its own rows.
   */
  function scopedView(conditions: Condition[], sortParam?: string, descending?: boolean): Selection {
    const sortColumns = (sortParam ?? 'dcid')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean) as StudentColumn[];
    const byDcid = sortColumns.length === 1 && sortColumns[0] === 'dcid' && !descending;
    const bounds = byDcid ? conditions.filter(isDcidBound) : [];
    const filters = conditions.filter((c) => !bounds.includes(c));
    const compare = byDcid
      ? undefined // the store is already in DCID order
      : (a: SimulatedStudent, b: SimulatedStudent) => {
          for (const c of sortColumns) {
            const x = a[c];
            const y = b[c];
            if (x === y) continue;
            if (x === null) return 1;
            if (y === null) return -1;
            const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
            if (order !== 0) return descending ? -order : order;
          }
          return a.dcid - b.dcid;
        };
    const key = `${filters.map((c) => `${c.column}\u0001${c.op}\u0001${c.value}`).join('\u0000')}\u0002${sortColumns.join(',')}\u0002${descending ? 'd' : 'a'}`;
    const view = store.view(key, compileQuery(filters), compare);
    return { view, ...dcidBoundsIn(view, bounds) };
  }

  // Page size: above the maximum is answered 400 (not clamped), so a client that ignores
  // metadata fails loudly instead of silently skipping students.
  function pagingOf(query: TableQuery): { page: number; pageSize: number } | { error: string } {
    const page = query.page === undefined ? 1 : Number(query.page);
    const pageSize = query.pagesize === undefined ? maxPageSize : Number(query.pagesize);
    if (!Number.isInteger(page) || page < 1) return { error: `page must be an integer ≥ 1 (pages are 1-based)` };
    if (!Number.isInteger(pageSize) || pageSize < 1) return { error: 'pagesize must be a positive integer' };
    if (pageSize > maxPageSize)
      return { error: `pagesize ${pageSize} exceeds the maximum page size of ${maxPageSize}` };
    return { page, pageSize };
  }

  app.get('/ws/v1/metadata', async (request, reply) => {
    if (!(await faults.admit(request, reply))) return reply;
    return {
      metadata: {
        powerschool_version: '24.7.0.0',
        student_max_page_size: maxPageSize,
        schema_table_query_max_page_size: maxPageSize,
        school_max_page_size: maxPageSize,
        staff_max_page_size: maxPageSize,
        section_max_page_size: maxPageSize,
        course_max_page_size: maxPageSize,
        term_max_page_size: maxPageSize,
        state_reporting_enabled: false,
        plugin_id: 1,
      },
    };
  });

  app.get('/ws/schema/table/students', async (request, reply) => {
    if (!(await faults.admit(request, reply))) return reply;
    const query = request.query as TableQuery;
    const projection = (query.projection ?? '')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean);
    if (projection.length === 0) return reply.code(400).send({ message: 'A projection is required' });
    const unknown = projection.filter((c) => !(STUDENT_TABLE_COLUMNS as readonly string[]).includes(c));
    if (unknown.length) return reply.code(400).send(validationFailed(unknown, 'Invalid field'));
    const denied = projection.filter((c) => !grants.has(c));
    if (denied.length) return reply.code(403).send(validationFailed(denied, 'No access to the field'));
    const paging = pagingOf(query);
    if ('error' in paging) return reply.code(400).send({ message: paging.error });
    let conditions: Condition[];
    try {
      conditions = parseQuery(query.q);
    } catch (err) {
      return reply.code(400).send({ message: (err as QueryError).message });
    }
    if (await faults.hangsOnce(paging.page, request)) {
      reply.hijack();
      return reply;
    }
    const { view, from, to } = scopedView(conditions, query.sort, query.sortdescending === 'true');
    const start = from + (paging.page - 1) * paging.pageSize;
    const columns = projection as StudentColumn[];
    const record = view.slice(start, Math.min(to, start + paging.pageSize)).map((s) => tableRecord(s, columns));
    return { name: 'Students', record };
  });

  app.get('/ws/schema/table/students/count', async (request, reply) => {
    if (!(await faults.admit(request, reply))) return reply;
    const query = request.query as TableQuery;
    try {
      const { from, to } = scopedView(parseQuery(query.q));
      return { count: to - from };
    } catch (err) {
      return reply.code(400).send({ message: (err as QueryError).message });
    }
  });
}

/** A numeric lower or upper bound on DCID: what keyset paging and DCID ranges send. */
function isDcidBound(c: Condition): boolean {
  return (
    c.column === 'dcid' && c.op !== '==' && c.op !== '!=' && c.value.trim() !== '' && Number.isFinite(Number(c.value))
  );
}

/** A query's rows: `view[from]` up to, not including, `view[to]`. */
interface Selection {
  view: readonly SimulatedStudent[];
  from: number;
  to: number;
}

/** Where a DCID-ordered view's rows inside every bound start and end (binary search for each end). */
function dcidBoundsIn(view: readonly SimulatedStudent[], bounds: Condition[]): { from: number; to: number } {
  let from = 0;
  let to = view.length;
  for (const { op, value } of bounds) {
    const v = Number(value);
    if (op === 'gt')
      from = Math.max(
        from,
        firstIndex(view, (dcid) => dcid > v),
      );
    else if (op === 'ge')
      from = Math.max(
        from,
        firstIndex(view, (dcid) => dcid >= v),
      );
    else if (op === 'lt')
      to = Math.min(
        to,
        firstIndex(view, (dcid) => dcid >= v),
      );
    else
      to = Math.min(
        to,
        firstIndex(view, (dcid) => dcid > v),
      );
  }
  return { from, to: Math.max(from, to) };
}

/** The first index whose DCID passes `test` (a test that, once true, stays true along the view). */
function firstIndex(view: readonly SimulatedStudent[], test: (dcid: number) => boolean): number {
  let lo = 0;
  let hi = view.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(view[mid]!.dcid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
