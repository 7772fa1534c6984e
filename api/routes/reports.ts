import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentIdMapping } from '../../db/queries/id-mapping.js';
import { getRun } from '../../db/queries/runs.js';
import { streamChangeFields, streamIssues } from '../../db/queries/reports.js';
import type { Services } from '../services.js';
import { csvRow, jsonCell, type CsvValue } from '../csv.js';
import { notFound } from '../errors.js';
import { runParams, v1ErrorResponses } from '../schemas.js';
import { powerschoolIdOf } from '../serialize.js';

/**
 * A run's record as CSV files for people (a school's registrar, Cialfo's support team): streamed
 * from PostgreSQL batch by batch (db/queries/reports.ts), so a district's largest run downloads
 * in constant memory. The JSON routes (…/changes, …/issues) remain the API for programs.
 */

const security = [{ bearerAuth: [] }];
const tags = ['runs'];

export const CHANGES_CSV_COLUMNS = ['type', 'powerschoolId', 'dcid', 'field', 'before', 'after'] as const;
export const ISSUES_CSV_COLUMNS = ['dcid', 'powerschoolId', 'field', 'code', 'message', 'skipped'] as const;

/** `<run id>-changes.csv`, with only characters every file system and header parser accepts. */
function attachmentName(runId: string, report: 'changes' | 'issues'): string {
  return `${runId.replace(/[^A-Za-z0-9._-]/g, '-')}-${report}.csv`;
}

function sendCsv(
  reply: FastifyReply,
  fileName: string,
  header: readonly string[],
  batches: AsyncGenerator<CsvValue[][]>,
): FastifyReply {
  async function* lines(): AsyncGenerator<string> {
    yield csvRow(header);
    // One chunk per database batch: few, large writes.
    for await (const rows of batches) yield rows.map(csvRow).join('');
  }
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(lines()));
}

export const reportRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db } = services;

  r.get(
    '/schools/:schoolId/runs/:runId/changes.csv',
    {
      schema: {
        tags,
        security,
        summary: "The run's changes as CSV, one row per changed field (text/csv)",
        params: runParams,
        response: v1ErrorResponses,
      },
    },
    async (request, reply) => {
      const { schoolId, runId } = request.params;
      if (!(await getRun(db, runId, { schoolId }))) throw notFound('Run');
      const mapping = await currentIdMapping(db, schoolId);
      async function* rows(): AsyncGenerator<CsvValue[][]> {
        for await (const batch of streamChangeFields(db, runId))
          yield batch.map((c) => [
            c.type,
            powerschoolIdOf(mapping, c.dcid, c.student_number),
            c.dcid,
            c.field,
            jsonCell(c.before),
            jsonCell(c.after),
          ]);
      }
      return sendCsv(reply, attachmentName(runId, 'changes'), CHANGES_CSV_COLUMNS, rows());
    },
  );

  r.get(
    '/schools/:schoolId/runs/:runId/issues.csv',
    {
      schema: {
        tags,
        security,
        summary: "The run's issues as CSV, one row per issue (text/csv)",
        params: runParams,
        response: v1ErrorResponses,
      },
    },
    async (request, reply) => {
      const { schoolId, runId } = request.params;
      if (!(await getRun(db, runId, { schoolId }))) throw notFound('Run');
      async function* rows(): AsyncGenerator<CsvValue[][]> {
        for await (const batch of streamIssues(db, runId))
          yield batch.map((i) => [i.dcid, i.powerschool_id, i.field, i.code, i.message, i.skipped]);
      }
      return sendCsv(reply, attachmentName(runId, 'issues'), ISSUES_CSV_COLUMNS, rows());
    },
  );
};
