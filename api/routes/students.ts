// The /v1 students list.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentIdMapping } from '../../db/queries/id-mapping.js';
import { listStudents } from '../../db/queries/listings.js';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../pagination.js';
import { errorResponses } from '../operations.js';
import { schoolParams, studentsPage, studentsQuery } from '../schemas.js';
import { studentJson } from '../serialize.js';
import type { Services } from '../services.js';

export const studentRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/schools/:schoolId/students',
    {
      schema: {
        operationId: 'listStudents',
        tags: ['students'],
        security: [{ bearerAuth: [] }],
        summary: 'The school’s students on the Cialfo side, in DCID order, then the unlinked accounts',
        params: schoolParams,
        querystring: studentsQuery,
        response: { 200: studentsPage, ...errorResponses('listStudents') },
      },
    },
    async (request) => {
      const { schoolId } = request.params;
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const after = request.query.cursor ? decodeCursor('students', request.query.cursor) : undefined;
      const page = await listStudents(services.db, schoolId, {
        limit,
        ...(after ? { after: after[0] === 'unlinked' ? { unlinkedId: after[1]! } : { dcid: after[0]! } } : {}),
        ...(request.query.status ? { status: request.query.status } : {}),
      });
      const first = page.items[0];
      // The list query read the integration's mapping; only without an integration (deleted) does
      // it take a look at the runs' settings, and an empty page needs no mapping at all.
      const mapping = first ? (first.id_mapping ?? (await currentIdMapping(services.db, schoolId))) : 'DCID';
      const last = page.items.at(-1);
      return {
        students: page.items.map((s) => studentJson(s, mapping)),
        nextCursor:
          page.hasMore && last
            ? encodeCursor('students', last.dcid === null ? ['unlinked', last.id] : [last.dcid])
            : null,
      };
    },
  );
};
