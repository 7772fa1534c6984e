// The simulator's SCHOOLS endpoint: `GET /ws/schema/table/schools` with projection, grants and paging.
import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from './faults.js';
import { SCHOOL_TABLE_COLUMNS, type SimulatedSchool } from './school-table.js';
import type { ColumnGrants } from './table-routes.js';

export interface SchoolRoutesOptions {
  schools: SimulatedSchool[];
  faults: FaultInjector;
  /** SCHOOLS columns the plugin was granted; others are refused 403 "No access to the field". */
  grants: ColumnGrants;
  maxPageSize: number;
}

/** `GET /ws/schema/table/schools`: projection and 1-based paging, sorted by school number. */
export function registerSchoolRoutes(
  app: FastifyInstance,
  { schools, faults, grants, maxPageSize }: SchoolRoutesOptions,
) {
  app.get('/ws/schema/table/schools', async (request, reply) => {
    if (!(await faults.admit(request, reply))) return reply;
    const query = request.query as Record<string, string | undefined>;
    const projection = (query.projection ?? '')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean);
    if (projection.length === 0) return reply.code(400).send({ message: 'A projection is required' });
    const unknown = projection.filter((c) => !(SCHOOL_TABLE_COLUMNS as readonly string[]).includes(c));
    const denied = projection.filter((c) => !grants.has(c));
    for (const [columns, status, code] of [
      [unknown, 400, 'Invalid field'],
      [denied, 403, 'No access to the field'],
    ] as const)
      if (columns.length)
        return reply.code(status).send({
          message: 'Validation Failed',
          errors: columns.map((c) => ({ resource: 'schools', field: `schools.${c}`, code })),
        });
    const page = Number(query.page ?? 1);
    const pageSize = Number(query.pagesize ?? maxPageSize);
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize)
      return reply.code(400).send({ message: 'page and pagesize must be integers within the limits' });
    const sorted = [...schools].sort((a, b) => a.school_number - b.school_number);
    const record = sorted.slice((page - 1) * pageSize, page * pageSize).map((s) => ({
      id: s.school_number,
      name: 'Schools',
      tables: { schools: Object.fromEntries(projection.map((c) => [c, String(s[c as keyof SimulatedSchool])])) },
    }));
    return { name: 'Schools', record };
  });
}
