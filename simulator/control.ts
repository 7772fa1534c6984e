// The simulator's control API (no OAuth, under /_simulator/): students, faults, grants, tokens and stats.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { faultsSchema, type FaultInjector } from './faults.js';
import type { TokenIssuer } from './oauth.js';
import type { RequestStats } from './stats.js';
import { graduateClass, leave } from './leavers.js';
import type { StudentStore } from './students.js';
import type { ColumnGrants } from './table-routes.js';
import type { SimulatorStudents } from './types.js';

const studentPatchSchema = z
  .object({
    dcid: z.number().int().positive(),
    id: z.number().int(),
    student_number: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    dob: z.string().nullable(),
    gender: z.string().nullable(),
    grade_level: z.number().int(),
    sched_yearofgraduation: z.number().int(),
    enroll_status: z.number().int(),
    schoolid: z.number().int(),
  })
  .partial()
  .strict();

export interface ControlOptions {
  store: StudentStore;
  faults: FaultInjector;
  grants: ColumnGrants;
  schoolGrants: ColumnGrants;
  tokens: TokenIssuer;
  stats: RequestStats;
}

/** The store seen from outside: copies, so a caller cannot change a student behind the store's back. */
export function studentsView(store: StudentStore): SimulatorStudents {
  return {
    list: () => store.all().map((s) => ({ ...s })),
    get: (dcid) => {
      const s = store.get(dcid);
      return s ? { ...s } : undefined;
    },
    add: (partial) => ({ ...store.add(partial) }),
    update: (dcid, patch) => {
      const s = store.update(dcid, patch);
      return s ? { ...s } : undefined;
    },
    remove: (dcid) => store.remove(dcid),
    inScope: (gradeFrom, gradeTo, schools = []) =>
      store
        .all()
        .filter(
          (s) =>
            s.enroll_status === 0 &&
            s.grade_level >= gradeFrom &&
            s.grade_level <= gradeTo &&
            (schools.length === 0 || schools.includes(s.schoolid)),
        )
        .map((s) => ({ ...s })),
    leave: (dcid, kind, toSchool) => leave(store, dcid, kind, toSchool),
    graduateClass: (graduationYear, school) => graduateClass(store, graduationYear, school),
    viewsBuilt: () => store.viewsBuilt,
  };
}

const leaveSchema = z.strictObject({
  kind: z.enum(['graduated', 'transferred', 'inactive', 'moved', 'deleted']),
  toSchool: z.number().int().positive().optional(),
});
const graduateSchema = z.strictObject({
  graduationYear: z.number().int(),
  school: z.number().int().positive().optional(),
});

export function registerControlRoutes(
  app: FastifyInstance,
  { store, faults, grants, schoolGrants, tokens, stats }: ControlOptions,
) {
  const dcidParam = (request: FastifyRequest) => Number((request.params as { dcid: string }).dcid);

  app.get('/_simulator/students', async (request) => {
    const { offset = '0', limit = '1000' } = request.query as Record<string, string>;
    const from = Math.max(0, Number(offset) || 0);
    const rows = store.all().slice(from, from + Math.min(10_000, Math.max(1, Number(limit) || 1000)));
    return { total: store.size, students: rows };
  });
  app.get('/_simulator/students/:dcid', async (request, reply) => {
    const s = store.get(dcidParam(request));
    return s ?? reply.code(404).send({ message: 'no such student' });
  });
  app.post('/_simulator/students', async (request, reply) => {
    const parsed = studentPatchSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    try {
      return reply.code(201).send(store.add(parsed.data));
    } catch (err) {
      return reply.code(409).send({ message: (err as Error).message });
    }
  });
  app.patch('/_simulator/students/:dcid', async (request, reply) => {
    const parsed = studentPatchSchema.omit({ dcid: true }).safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    return store.update(dcidParam(request), parsed.data) ?? reply.code(404).send({ message: 'no such student' });
  });
  app.delete('/_simulator/students/:dcid', async (request, reply) => {
    return store.remove(dcidParam(request))
      ? reply.code(204).send()
      : reply.code(404).send({ message: 'no such student' });
  });
  app.post('/_simulator/students/:dcid/leave', async (request, reply) => {
    const parsed = leaveSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    if (parsed.data.kind === 'moved' && parsed.data.toSchool === undefined)
      return reply.code(400).send({ message: 'a move names toSchool' });
    return leave(store, dcidParam(request), parsed.data.kind, parsed.data.toSchool)
      ? reply.code(204).send()
      : reply.code(404).send({ message: 'no such student' });
  });
  app.post('/_simulator/graduate', async (request, reply) => {
    const parsed = graduateSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    return { graduated: graduateClass(store, parsed.data.graduationYear, parsed.data.school) };
  });
  app.get('/_simulator/faults', async () => faults.current);
  app.put('/_simulator/faults', async (request, reply) => {
    const parsed = faultsSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    faults.set(parsed.data);
    return faults.current;
  });
  app.put('/_simulator/grants', async (request, reply) => {
    const parsed = z
      .object({ columns: z.array(z.string()).optional(), schoolColumns: z.array(z.string()).optional() })
      .strict()
      .safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ message: parsed.error.message });
    if (parsed.data.columns) grants.set(parsed.data.columns);
    if (parsed.data.schoolColumns) schoolGrants.set(parsed.data.schoolColumns);
    return { columns: grants.list(), schoolColumns: schoolGrants.list() };
  });
  app.post('/_simulator/revoke-tokens', async () => {
    tokens.revokeAll();
    return { ok: true };
  });
  app.get('/_simulator/stats', async () => ({ ...stats.stats, students: store.size }));
}
