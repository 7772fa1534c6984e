// The unauthenticated service routes: liveness, readiness, the OpenAPI document.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pingDatabase } from '../../db/queries/listings.js';
import type { ApiErrorCode } from '../../shared/codes.js';
import { OPERATION_CODES } from '../operations.js';
import type { Services } from '../services.js';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

const readySchema = z.object({
  ok: z.boolean(),
  checks: z.object({ database: z.enum(['ok', 'failing']), temporal: z.enum(['ok', 'failing']) }),
  error: z.object({ code: z.enum(OPERATION_CODES.readyz), message: z.string() }).optional(),
});

/** Unauthenticated service routes: liveness, readiness, the OpenAPI document. */
export const serviceRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/healthz',
    {
      schema: {
        operationId: 'healthz',
        tags: ['service'],
        summary: 'Liveness',
        security: [],
        response: { 200: z.object({ ok: z.literal(true) }).describe('Alive') },
      },
    },
    async () => ({ ok: true as const }),
  );

  r.get(
    '/readyz',
    {
      schema: {
        operationId: 'readyz',
        tags: ['service'],
        security: [],
        summary: 'Readiness: 200 when PostgreSQL and Temporal answer, else 503 naming which',
        response: { 200: readySchema.describe('Ready'), 503: readySchema.describe('Not ready: NOT_READY') },
      },
    },
    async (_request, reply) => {
      const [database, temporal] = await Promise.all([
        withTimeout(pingDatabase(services.db), CHECK_TIMEOUT_MS).then(
          () => 'ok' as const,
          () => 'failing' as const,
        ),
        services.temporal.connection
          .withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => services.temporal.workflowService.getSystemInfo({}))
          .then(
            () => 'ok' as const,
            () => 'failing' as const,
          ),
      ]);
      const failing = Object.entries({ database, temporal })
        .filter(([, v]) => v === 'failing')
        .map(([k]) => k);
      if (failing.length === 0) return { ok: true, checks: { database, temporal } };
      return reply.code(503).send({
        ok: false,
        checks: { database, temporal },
        error: {
          code: 'NOT_READY' satisfies ApiErrorCode,
          message: `Not ready: ${failing.join(' and ')} not answering`,
        },
      });
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
