// The /v1 PowerSchool schools route: the district's schools, read live, with the ones the school selected.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { getIntegration } from '../../db/queries/integrations.js';
import type { PowerSchoolSchool } from '../../powerschool/client.js';
import { notFound } from '../errors.js';
import { errorResponses } from '../operations.js';
import { probeFailure } from '../powerschool-probe.js';
import { powerschoolSchoolsResponse, schoolParams } from '../schemas.js';
import type { Services } from '../services.js';

/**
 * Every school PowerSchool lists, sorted by number, `selected` when its number is stored (or for
 * all when none is); a stored number PowerSchool does not list comes back without name or grades,
 * so a school that was closed or renumbered shows up instead of silently syncing nobody.
 */
export function schoolsView(listed: PowerSchoolSchool[], stored: readonly number[]) {
  const selected = new Set(stored);
  const known = new Set(listed.map((s) => s.schoolNumber));
  return [
    ...listed.map((s) => ({ ...s, selected: selected.size === 0 || selected.has(s.schoolNumber) })),
    ...stored
      .filter((n) => !known.has(n))
      .map((schoolNumber) => ({ schoolNumber, name: null, lowGrade: null, highGrade: null, selected: true })),
  ].sort((a, b) => a.schoolNumber - b.schoolNumber);
}

export const powerschoolSchoolRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/schools/:schoolId/integration/powerschool-schools',
    {
      schema: {
        operationId: 'listPowerSchoolSchools',
        tags: ['integration'],
        security: [{ bearerAuth: [] }],
        summary: 'The schools of the district’s PowerSchool (its SCHOOLS table), with the ones this school syncs',
        params: schoolParams,
        response: { 200: powerschoolSchoolsResponse, ...errorResponses('listPowerSchoolSchools') },
      },
    },
    async (request) => {
      const row = await getIntegration(services.db, request.params.schoolId);
      if (!row) throw notFound('Integration');
      const clientSecret = services.box.open(
        { ciphertext: row.client_secret_encrypted, keyId: row.client_secret_key_id },
        row.school_id,
      );
      try {
        const listed = await services.powerSchool.listSchools({
          serverUrl: row.server_url,
          clientId: row.client_id,
          clientSecret,
        });
        return { schools: schoolsView(listed, row.powerschool_schools) };
      } catch (err) {
        const failure = probeFailure(err);
        request.log.info(
          { schoolId: row.school_id, code: failure.code, cause: err instanceof Error ? err.message : String(err) },
          'reading the PowerSchool schools failed',
        );
        throw failure;
      }
    },
  );
};
