// The /v1 PowerSchool schools route: the district's schools, read live, with the ones the school selected.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { PowerSchoolSchool } from '../../powerschool/client.js';
import { askSchoolsPowerSchool } from '../ask-powerschool.js';
import { errorResponses } from '../operations.js';
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
    async (request) =>
      askSchoolsPowerSchool(
        services,
        request.log,
        request.params.schoolId,
        'reading the PowerSchool schools',
        async (credentials, row) => ({
          schools: schoolsView(await services.powerSchool.listSchools(credentials), row.powerschool_schools),
        }),
      ),
  );
};
