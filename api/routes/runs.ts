// The /v1 run routes: start a run, list runs, one run, its changes and its issues.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentIdMapping } from '../../db/queries/id-mapping.js';
import { getIntegration } from '../../db/queries/integrations.js';
import { listChanges, listIssues, listRuns } from '../../db/queries/listings.js';
import { endRun, recordFirstExecution } from '../../db/queries/run-lifecycle.js';
import { getRun } from '../../db/queries/runs.js';
import { SchoolIdKey, SyncTriggerKey, TestRunKey } from '../../workflows/search-attributes.js';
import {
  manualWorkflowIdFor,
  SYNC_WORKFLOW_RUN_TIMEOUT,
  SYNC_WORKFLOW_TYPE,
  type SyncStudentsInput,
} from '../../workflows/types.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../pagination.js';
import {
  changesPage,
  changesQuery,
  issuesPage,
  pageQuery,
  runParams,
  runSchema,
  runsPage,
  schoolParams,
  startRunBody,
} from '../schemas.js';
import { errorResponses } from '../operations.js';
import { claimRunSlotReleasingAbandoned } from '../../services/run-slot.js';
import { changeJson, issueJson, runJson, runSummaryJson } from '../serialize.js';
import type { Services } from '../services.js';

const security = [{ bearerAuth: [] }];
const tags = ['runs'];

export const runRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { config, db, temporal } = services;

  r.post(
    '/schools/:schoolId/runs',
    {
      schema: {
        operationId: 'startRun',
        tags,
        security,
        summary: 'Start a run now ("Save & Trigger Now")',
        params: schoolParams,
        body: startRunBody,
        response: { 202: runSchema, ...errorResponses('startRun') },
      },
    },
    async (request, reply) => {
      const { schoolId } = request.params;
      const integration = await getIntegration(db, schoolId);
      if (!integration) throw notFound('Integration');
      if (!integration.active) {
        throw new ApiError(409, 'INTEGRATION_INACTIVE', 'The integration is paused; resume it before starting a run');
      }
      const testRun = request.body?.testRun ?? integration.test_run;
      const workflowId = manualWorkflowIdFor(schoolId, new Date(), randomBytes(4).toString('hex'));

      // Take the school's run slot before starting anything: a second click gets a clean 409.
      const claim = await claimRunSlotReleasingAbandoned(
        db,
        { id: workflowId, schoolId, trigger: 'manual', testRun },
        { temporal, log: request.log },
      );
      if (!claim.claimed) {
        throw new ApiError(
          409,
          'RUN_IN_PROGRESS',
          claim.runningStatus === 'held'
            ? 'A held run of this school waits for approval; approve or discard it first'
            : 'Another run of this school is in progress',
          [{ runId: claim.runningRunId, status: claim.runningStatus }],
        );
      }

      const input: SyncStudentsInput = { schoolId, trigger: 'manual', testRun };
      let temporalRunId: string;
      try {
        const handle = await temporal.workflow.start(SYNC_WORKFLOW_TYPE, {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [input],
          workflowRunTimeout: SYNC_WORKFLOW_RUN_TIMEOUT,
          typedSearchAttributes: [
            { key: SchoolIdKey, value: schoolId },
            { key: SyncTriggerKey, value: 'manual' },
            { key: TestRunKey, value: testRun },
          ],
          staticSummary: `Manual PowerSchool sync of school ${schoolId} (${testRun ? 'test run' : 'commit'})`,
        });
        temporalRunId = handle.firstExecutionRunId;
      } catch (err) {
        // Release the slot: the run never started, so it must not block the next one.
        await endRun(
          db,
          workflowId,
          'failed',
          { code: 'START_FAILED', message: 'The run could not be started in Temporal' },
          'disabled',
        );
        request.log.error({ schoolId, workflowId, err }, 'could not start the sync workflow');
        throw new ApiError(500, 'INTERNAL', 'The run could not be started');
      }
      await recordFirstExecution(db, workflowId, temporalRunId);
      const run = await getRun(db, workflowId, { schoolId });
      reply.code(202);
      return runJson(config, run ?? { ...claim.run, temporal_run_id: temporalRunId });
    },
  );

  r.get(
    '/schools/:schoolId/runs',
    {
      schema: {
        operationId: 'listRuns',
        tags,
        security,
        summary: 'The school’s runs, newest first',
        params: schoolParams,
        querystring: pageQuery,
        response: { 200: runsPage, ...errorResponses('listRuns') },
      },
    },
    async (request) => {
      const { schoolId } = request.params;
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const after = request.query.cursor ? decodeCursor('runs', request.query.cursor) : undefined;
      const page = await listRuns(db, schoolId, {
        limit,
        after: after ? { startedAt: after[0]!, id: after[1]! } : undefined,
      });
      const last = page.items.at(-1);
      return {
        runs: page.items.map((run) => runSummaryJson(config, run)),
        nextCursor: page.hasMore && last ? encodeCursor('runs', [last.started_at_key, last.id]) : null,
      };
    },
  );

  r.get(
    '/schools/:schoolId/runs/:runId',
    {
      schema: {
        operationId: 'getRun',
        tags,
        security,
        summary: 'One run, with live progress while it runs',
        params: runParams,
        response: { 200: runSchema, ...errorResponses('getRun') },
      },
    },
    async (request) => {
      const run = await getRun(db, request.params.runId, { schoolId: request.params.schoolId });
      if (!run) throw notFound('Run');
      return runJson(config, run);
    },
  );

  r.get(
    '/schools/:schoolId/runs/:runId/changes',
    {
      schema: {
        operationId: 'listRunChanges',
        tags,
        security,
        summary: 'What the run changed (commit) or would change (test run)',
        params: runParams,
        querystring: changesQuery,
        response: { 200: changesPage, ...errorResponses('listRunChanges') },
      },
    },
    async (request) => {
      const { schoolId, runId } = request.params;
      const run = await getRun(db, runId, { schoolId });
      if (!run) throw notFound('Run');
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const after = request.query.cursor ? decodeCursor('changes', request.query.cursor) : undefined;
      const [page, mapping] = await Promise.all([
        listChanges(db, runId, { limit, type: request.query.type, afterDcid: after?.[0] }),
        currentIdMapping(db, schoolId),
      ]);
      const last = page.items.at(-1);
      return {
        changes: page.items.map((c) => changeJson(c, mapping)),
        nextCursor: page.hasMore && last ? encodeCursor('changes', [last.dcid]) : null,
      };
    },
  );

  r.get(
    '/schools/:schoolId/runs/:runId/issues',
    {
      schema: {
        operationId: 'listRunIssues',
        tags,
        security,
        summary: 'Every record of the run with a problem, and why',
        params: runParams,
        querystring: pageQuery,
        response: { 200: issuesPage, ...errorResponses('listRunIssues') },
      },
    },
    async (request) => {
      const { schoolId, runId } = request.params;
      const run = await getRun(db, runId, { schoolId });
      if (!run) throw notFound('Run');
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const after = request.query.cursor ? decodeCursor('issues', request.query.cursor) : undefined;
      const page = await listIssues(db, runId, { limit, afterId: after?.[0] });
      const last = page.items.at(-1);
      return {
        issues: page.items.map(issueJson),
        nextCursor: page.hasMore && last ? encodeCursor('issues', [last.id]) : null,
      };
    },
  );
};
