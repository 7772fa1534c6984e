// The /v1 routes of a school's existing Cialfo accounts: import them, and unlink a wrong link.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentIdMapping } from '../../db/queries/id-mapping.js';
import { importAccounts, unlinkStudent } from '../../db/queries/imported-accounts.js';
import { getIntegrationIdMapping } from '../../db/queries/integrations.js';
import { listStudentsByIds } from '../../db/queries/listings.js';
import { ApiError, notFound } from '../errors.js';
import { errorResponses } from '../operations.js';
import {
  emptyBody,
  importStudentsBody,
  importStudentsResponse,
  schoolParams,
  studentParams,
  studentSchema,
} from '../schemas.js';
import { studentJson } from '../serialize.js';
import type { Services } from '../services.js';

const security = [{ bearerAuth: [] }];
const tags = ['students'];

/** 1,000 accounts with long names and ids: far above the API's default 64 KiB. */
const IMPORT_BODY_LIMIT = 1024 * 1024;

export const importedAccountRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/schools/:schoolId/students/import',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        operationId: 'importStudents',
        tags,
        security,
        summary: 'Import the school’s existing Cialfo accounts (1–1000) as unlinked students, idempotent by externalId',
        params: schoolParams,
        body: importStudentsBody,
        response: { 200: importStudentsResponse, ...errorResponses('importStudents') },
      },
    },
    async (request) => {
      const { schoolId } = request.params;
      if (!(await getIntegrationIdMapping(services.db, schoolId))) throw notFound('Integration');
      return importAccounts(services.db, schoolId, request.body.students);
    },
  );

  r.post(
    '/schools/:schoolId/students/:studentId/unlink',
    {
      schema: {
        operationId: 'unlinkStudent',
        tags,
        security,
        summary: 'Undo a link made by matching: the account is unlinked again and its DCID waits for a review',
        params: studentParams,
        body: emptyBody,
        response: { 200: studentSchema, ...errorResponses('unlinkStudent') },
      },
    },
    async (request) => {
      const { schoolId, studentId } = request.params;
      const result = await unlinkStudent(services.db, schoolId, studentId);
      if (result.outcome === 'not_found') throw notFound('Student');
      if (result.outcome === 'not_linked') {
        throw new ApiError(409, 'NOT_LINKED', 'The student was not linked by matching');
      }
      const [student] = await listStudentsByIds(services.db, schoolId, [studentId]);
      if (!student) throw notFound('Student');
      return studentJson(student, student.id_mapping ?? (await currentIdMapping(services.db, schoolId)));
    },
  );
};
