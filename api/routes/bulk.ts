// The /v1 bulk routes: pause or resume many schools' integrations with one call (summer rollover).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { BulkTarget } from '../../db/queries/bulk-pause.js';
import { bulkPause, bulkResume } from '../../services/schedules-bulk.js';
import type { Services } from '../services.js';
import { errorResponses } from '../operations.js';
import { bulkPauseBody, bulkPauseResponse, bulkResumeBody, bulkResumeResponse } from '../schemas.js';

const security = [{ bearerAuth: [] }];
const tags = ['integration'];

const targetOf = (body: { schoolIds?: string[]; all?: true }): BulkTarget =>
  body.schoolIds !== undefined ? { schoolIds: body.schoolIds } : { all: true };

export const bulkRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const deps = { db: services.db, client: services.temporal, config: services.config, logger: services.logger };

  r.post(
    '/integrations/pause',
    {
      schema: {
        operationId: 'bulkPauseIntegrations',
        tags,
        security,
        summary: 'Pause many schools (or all) with a note; each ends as its own pause would leave it',
        body: bulkPauseBody,
        response: { 200: bulkPauseResponse, ...errorResponses('bulkPauseIntegrations') },
      },
    },
    async (request) => bulkPause(deps, targetOf(request.body), request.body.note ?? null),
  );

  r.post(
    '/integrations/resume',
    {
      schema: {
        operationId: 'bulkResumeIntegrations',
        tags,
        security,
        summary: 'Resume many schools, or with all: true every school a bulk pause paused',
        body: bulkResumeBody,
        response: { 200: bulkResumeResponse, ...errorResponses('bulkResumeIntegrations') },
      },
    },
    async (request) => bulkResume(deps, targetOf(request.body)),
  );
};
