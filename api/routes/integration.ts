// The /v1 integration routes: settings CRUD, pause/resume, test-connection.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  deleteIntegration,
  getIntegration,
  putIntegration,
  setIntegrationActive,
} from '../../db/queries/integrations.js';
import { getLatestRun } from '../../db/queries/listings.js';
import type { Integration } from '../../db/types.js';
import { discardHeldRunOfDeletedIntegration } from '../../services/held-runs.js';
import { alignSchedule } from '../../services/schedules.js';
import { daylightSavingProblem, todayIn } from '../../services/schedules-calendar.js';
import { lastDueOf } from '../../services/schedules-due.js';
import { describeSchedule } from '../../temporal/schedules.js';
import type { Services } from '../services.js';
import { notFound, validationFailed } from '../errors.js';
import { askSchoolsPowerSchool } from '../ask-powerschool.js';
import { emptyBody, integrationBody, integrationResponse, schoolParams, testConnectionResponse } from '../schemas.js';
import { errorResponses } from '../operations.js';
import { integrationJson } from '../serialize.js';
import { checkServerUrl } from '../validation.js';

const security = [{ bearerAuth: [] }];
const tags = ['integration'];

/**
 * Brings the school's schedule in line after a write. The database write has already happened and
 * stands even if Temporal is down: the failure is logged and the worker's next reconcile pass (within
 * SCHEDULE_RECONCILE_INTERVAL) repairs the schedule.
 */
export async function alignScheduleAfterWrite(services: Services, schoolId: string): Promise<void> {
  try {
    await alignSchedule({ db: services.db, client: services.temporal, config: services.config }, schoolId);
  } catch (err) {
    services.logger.error(
      { schoolId, err: err instanceof Error ? { name: err.name, message: err.message } : String(err) },
      'schedule update failed; the settings are saved and the next reconcile will repair the schedule',
    );
  }
}

export async function integrationView(services: Services, row: Integration) {
  const [schedule, lastRun, due] = await Promise.all([
    row.active ? describeSchedule(services.temporal, row.school_id) : Promise.resolve(null),
    getLatestRun(services.db, row.school_id),
    lastDueOf({ db: services.db, client: services.temporal }, row),
  ]);
  return integrationJson(services.config, row, schedule, lastRun, due);
}

export const integrationRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const base = '/schools/:schoolId/integration';

  r.put(
    base,
    {
      schema: {
        operationId: 'putIntegration',
        tags,
        security,
        summary: 'Create (201) or replace (200) the school’s PowerSchool settings',
        params: schoolParams,
        body: integrationBody,
        response: { 200: integrationResponse, 201: integrationResponse, ...errorResponses('putIntegration') },
      },
    },
    async (request, reply) => {
      const { schoolId } = request.params;
      const body = request.body;
      const url = checkServerUrl(body.powerschool.serverUrl, {
        allowInsecure: services.config.allowInsecurePowerSchool,
      });
      if (!url.ok) throw validationFailed('powerschool.serverUrl', url.message);
      const scheduleCron = body.schedule.cron.trim().replace(/\s+/g, ' ');
      const stored = await getIntegration(services.db, schoolId);
      // Only a write that sets or changes the time is checked: a stored schedule keeps working as it is.
      if (!stored || stored.schedule_cron !== scheduleCron || stored.schedule_timezone !== body.schedule.timezone) {
        const dst = daylightSavingProblem(scheduleCron, body.schedule.timezone);
        if (dst) throw validationFailed('schedule.cron', dst.message);
      }
      // Bound to the school id, so a ciphertext copied onto another school's row does not open.
      const secret =
        body.powerschool.clientSecret !== undefined
          ? services.box.seal(body.powerschool.clientSecret, schoolId)
          : undefined;
      const result = await putIntegration(
        services.db,
        schoolId,
        {
          serverUrl: url.origin,
          clientId: body.powerschool.clientId,
          active: body.active,
          testRun: body.testRun,
          notificationsEnabled: body.notifications.enabled,
          notificationRecipients: body.notifications.recipients,
          gradeFrom: body.grades.from,
          gradeTo: body.grades.to,
          mappingPowerschoolId: body.mapping.powerschoolId,
          mappingDateOfBirth: body.mapping.dateOfBirth,
          mappingGender: body.mapping.gender,
          mappingGradeLevel: body.mapping.gradeLevel,
          powerschoolSchools: body.powerschool.schools,
          matchingEnabled: body.matching.enabled,
          scheduleCron,
          scheduleTimezone: body.schedule.timezone,
          // Ranges wholly in the past say nothing any more: dropped, so they never fill the ten.
          blackouts: body.blackouts.filter((b) => b.to >= todayIn(body.schedule.timezone)),
          safety: body.safety,
        },
        secret,
      );
      if (result.outcome === 'secret_required') {
        throw validationFailed('powerschool.clientSecret', 'is required when creating an integration');
      }
      if (result.outcome === 'secret_required_for_move') {
        throw validationFailed(
          'powerschool.clientSecret',
          'is required when serverUrl or clientId changes (the stored secret is never sent to a new host or client)',
        );
      }
      await alignScheduleAfterWrite(services, schoolId);
      reply.code(result.outcome === 'created' ? 201 : 200);
      return integrationView(services, result.row);
    },
  );

  r.get(
    base,
    {
      schema: {
        operationId: 'getIntegration',
        tags,
        security,
        summary: 'The school’s settings (secret redacted), schedule state and last run',
        params: schoolParams,
        response: { 200: integrationResponse, ...errorResponses('getIntegration') },
      },
    },
    async (request) => {
      const row = await getIntegration(services.db, request.params.schoolId);
      if (!row) throw notFound('Integration');
      return integrationView(services, row);
    },
  );

  r.delete(
    base,
    {
      schema: {
        operationId: 'deleteIntegration',
        tags,
        security,
        summary: 'Remove the settings and the schedule; runs and students stay readable',
        params: schoolParams,
        response: { 204: z.undefined().describe('Deleted'), ...errorResponses('deleteIntegration') },
      },
    },
    async (request, reply) => {
      const { schoolId } = request.params;
      if (!(await deleteIntegration(services.db, schoolId))) throw notFound('Integration');
      await alignScheduleAfterWrite(services, schoolId);
      await discardHeldRunOfDeletedIntegration(
        { db: services.db, temporal: services.temporal, log: request.log },
        schoolId,
      );
      return reply.code(204).send();
    },
  );

  for (const [action, active] of [
    ['pause', false],
    ['resume', true],
  ] as const) {
    r.post(
      `${base}/${action}`,
      {
        schema: {
          operationId: active ? 'resumeIntegration' : 'pauseIntegration',
          tags,
          security,
          summary: active
            ? 'Activate the integration; its schedule runs'
            : 'Deactivate the integration; its schedule pauses',
          params: schoolParams,
          body: emptyBody,
          response: { 200: integrationResponse, ...errorResponses(active ? 'resumeIntegration' : 'pauseIntegration') },
        },
      },
      async (request) => {
        const { schoolId } = request.params;
        const row = await setIntegrationActive(services.db, schoolId, active);
        if (!row) throw notFound('Integration');
        await alignScheduleAfterWrite(services, schoolId);
        return integrationView(services, row);
      },
    );
  }

  r.post(
    `${base}/test-connection`,
    {
      schema: {
        operationId: 'testConnection',
        tags,
        security,
        summary: 'A real token request and student count against the school’s PowerSchool',
        params: schoolParams,
        body: emptyBody,
        response: { 200: testConnectionResponse, ...errorResponses('testConnection') },
      },
    },
    async (request) =>
      askSchoolsPowerSchool(
        services,
        request.log,
        request.params.schoolId,
        'test-connection',
        async (credentials, row) => {
          const studentsInScope = await services.powerSchool.countStudentsInScope({
            ...credentials,
            gradeFrom: row.grade_from,
            gradeTo: row.grade_to,
            schools: row.powerschool_schools,
          });
          return { ok: true as const, studentsInScope };
        },
      ),
  );
};
