// The simulator's SCHOOLS table: the district's schools and PowerSchool's "Graduated Students" school, and its endpoint.
import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from './faults.js';
import { GRADUATED_SCHOOL_NUMBER, schoolNumbers } from './students.js';
import type { ColumnGrants } from './table-routes.js';

export interface SimulatedSchool {
  school_number: number;
  name: string;
  low_grade: number;
  high_grade: number;
}

export const SCHOOL_TABLE_COLUMNS = ['school_number', 'name', 'low_grade', 'high_grade'] as const;

const NAMES = ['North', 'South', 'East', 'West', 'Central', 'Lakeside', 'Hillcrest', 'Riverside', 'Oakwood', 'Maple'];

/** The district's schools (each K-12 with pre-K, like the seeded students), then the graduates' school. */
export function seedSchools(schools: number): SimulatedSchool[] {
  return [
    ...schoolNumbers(schools).map((school_number, i) => ({
      school_number,
      name: `${NAMES[i % NAMES.length]}${i >= NAMES.length ? ` ${Math.floor(i / NAMES.length) + 1}` : ''} School`,
      low_grade: -2,
      high_grade: 12,
    })),
    { school_number: GRADUATED_SCHOOL_NUMBER, name: 'Graduated Students', low_grade: 99, high_grade: 99 },
  ];
}

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
