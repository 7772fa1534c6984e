import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentIdMapping } from '../../db/queries/id-mapping.js';
import { getRun } from '../../db/queries/runs.js';
import { createReportSource } from '../../db/queries/reports.js';
import type { Services } from '../services.js';
import { notFound } from '../errors.js';
import { errorResponses } from '../operations.js';
import { runParams } from '../schemas.js';

/**
 * A run's record as CSV files for people (a school's registrar, Cialfo's support team), streamed
 * from PostgreSQL (db/queries/reports.ts), so a district's largest run downloads in constant
 * memory. The JSON routes (…/changes, …/issues) remain the API for programs.
 */

const security = [{ bearerAuth: [] }];
const tags = ['runs'];

/** The 200 of a CSV route, documented as text/csv (not JSON: the zod serializer never sees it, a stream is sent as is). */
const csvResponse = (what: string) => ({
  description: `${what} as CSV (RFC 4180, UTF-8, rows end with CRLF)`,
  content: { 'text/csv': { schema: z.string() } },
});

/** `<run id>-changes.csv`, with only characters every file system and header parser accepts. */
function attachmentName(runId: string, report: 'changes' | 'issues'): string {
  return `${runId.replace(/[^A-Za-z0-9._-]/g, '-')}-${report}.csv`;
}

/** The typed reply only knows the JSON error bodies of the schema: a CSV goes out as a plain stream. */
function sendCsv(reply: FastifyReply, fileName: string, csv: Readable): FastifyReply {
  return reply
    .headers({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName}"`,
      'cache-control': 'no-store',
    })
    .send(csv);
}

export const reportRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db } = services;
  const reports = createReportSource(services.config.databaseUrl);
  app.addHook('onClose', () => reports.close());

  r.get(
    '/schools/:schoolId/runs/:runId/changes.csv',
    {
      schema: {
        tags,
        security,
        operationId: 'getRunChangesCsv',
        summary: "The run's changes as CSV (text/csv), one row per changed field",
        params: runParams,
        response: { 200: csvResponse('The changes'), ...errorResponses('getRunChangesCsv') },
      },
    },
    async (request, reply) => {
      const { schoolId, runId } = request.params;
      if (!(await getRun(db, runId, { schoolId }))) throw notFound('Run');
      const csv = await reports.changesCsv(runId, await currentIdMapping(db, schoolId));
      return sendCsv(reply, attachmentName(runId, 'changes'), csv);
    },
  );

  r.get(
    '/schools/:schoolId/runs/:runId/issues.csv',
    {
      schema: {
        tags,
        security,
        operationId: 'getRunIssuesCsv',
        summary: "The run's issues as CSV (text/csv), one row per issue",
        params: runParams,
        response: { 200: csvResponse('The issues'), ...errorResponses('getRunIssuesCsv') },
      },
    },
    async (request, reply) => {
      const { schoolId, runId } = request.params;
      if (!(await getRun(db, runId, { schoolId }))) throw notFound('Run');
      const csv = await reports.issuesCsv(runId);
      return sendCsv(reply, attachmentName(runId, 'issues'), csv);
    },
  );
};
