// The /v1 routes of the safety hold: approve or discard a held run, and the held runs of every school.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { listHeldRuns } from '../../db/queries/held-runs.js';
import { getRun } from '../../db/queries/runs.js';
import { decideHold } from '../../temporal/hold-decision.js';
import { ApiError, notFound } from '../errors.js';
import { errorResponses } from '../operations.js';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../pagination.js';
import { emptyBody, heldRunsQuery, runParams, runSchema, runsPage } from '../schemas.js';
import { runJson, runSummaryJson } from '../serialize.js';
import type { Services } from '../services.js';

const security = [{ bearerAuth: [] }];
const tags = ['runs'];

const notHeld = () =>
  new ApiError(409, 'RUN_NOT_HELD', 'The run is not held (it is running, ended, or already decided)');
const unavailable = () =>
  new ApiError(503, 'TEMPORAL_UNAVAILABLE', 'No worker took up the decision within 10 s; nothing changed, try again');

export const holdRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { config, db, temporal } = services;

  for (const decision of ['approve', 'discard'] as const) {
    const approve = decision === 'approve';
    r.post(
      `/schools/:schoolId/runs/:runId/${decision}`,
      {
        schema: {
          operationId: approve ? 'approveRun' : 'discardRun',
          tags,
          security,
          summary: approve
            ? 'Approve a held commit: it writes exactly the recorded changes (202, status running)'
            : 'Discard a held commit: nothing is written (200, status discarded)',
          params: runParams,
          body: emptyBody,
          response: {
            [approve ? 202 : 200]: runSchema,
            ...errorResponses(approve ? 'approveRun' : 'discardRun'),
          },
        },
      },
      async (request, reply) => {
        const { schoolId, runId } = request.params;
        const run = await getRun(db, runId, { schoolId });
        if (!run) throw notFound('Run');
        // The workflow decides (its validator refuses too); this spares Temporal the obvious cases.
        if (run.status !== 'held') throw notHeld();
        const outcome = await decideHold(temporal, runId, { decision });
        if (outcome === 'not_held') throw notHeld();
        if (outcome === 'unavailable') throw unavailable();
        request.log.info({ schoolId, runId, decision }, 'held run decided');
        const decided = await getRun(db, runId, { schoolId });
        reply.code(approve ? 202 : 200);
        return runJson(config, decided ?? run);
      },
    );
  }

  r.get(
    '/runs',
    {
      schema: {
        operationId: 'listHeldRuns',
        tags,
        security,
        summary: 'The held runs of every school, oldest hold first',
        querystring: heldRunsQuery,
        response: { 200: runsPage, ...errorResponses('listHeldRuns') },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const after = request.query.cursor ? decodeCursor('heldRuns', request.query.cursor) : undefined;
      const page = await listHeldRuns(db, {
        limit,
        after: after ? { heldAt: after[0]!, id: after[1]! } : undefined,
      });
      const last = page.items.at(-1);
      return {
        runs: page.items.map((run) => runSummaryJson(config, run)),
        nextCursor: page.hasMore && last ? encodeCursor('heldRuns', [last.held_at_key, last.id]) : null,
      };
    },
  );
};
