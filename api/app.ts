// buildApp: the Fastify app composed from its plugins (external, then app, then routes), used by api/main.ts and in-process by tests.
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { createLogger } from '../logging/logger.js';
import { ApiError, sendError } from './errors.js';
import { authPlugin } from './plugins/app/auth.js';
import errorHandler from './plugins/app/error-handler.js';
import jsonBody from './plugins/app/json-body.js';
import notFound from './plugins/app/not-found.js';
import requestId, { genReqId } from './plugins/app/request-id.js';
import securityHeaders from './plugins/app/security-headers.js';
import docs from './plugins/external/docs.js';
import rateLimit from './plugins/external/rate-limit.js';
import swagger from './plugins/external/swagger.js';
import type { PowerSchoolProbe } from './powerschool-probe.js';
import { httpMetrics, type ApiMetrics } from './plugins/metrics.js';
import { bulkRoutes } from './routes/bulk.js';
import { importedAccountRoutes } from './routes/imported-accounts.js';
import { integrationRoutes } from './routes/integration.js';
import { powerschoolSchoolRoutes } from './routes/powerschool-schools.js';
import { matchReviewRoutes } from './routes/match-reviews.js';
import { reportRoutes } from './routes/reports.js';
import { holdRoutes } from './routes/holds.js';
import { runRoutes } from './routes/runs.js';
import { serviceRoutes } from './routes/service.js';
import { studentRoutes } from './routes/students.js';
import { createServices } from './services.js';

export interface RateLimitOptions {
  /** Requests per window per client address. */
  max: number;
  timeWindowMs: number;
}

export interface AppDeps {
  config: Config;
  db: Db;
  temporalClient: Client;
  /** Defaults to the shared pino logger (logging/logger.ts), which redacts tokens and secrets. */
  logger?: Logger;
  /** Rate limit on /v1; `false` turns it off (tests that fire thousands of requests). Default 1200/min. */
  rateLimit?: RateLimitOptions | false;
  /** Largest accepted body in bytes. Default 64 KiB. */
  bodyLimit?: number;
  /** test-connection's PowerSchool call; defaults to the real PowerSchool client. */
  /** Any of the probe's calls to stand in for (the others stay real). */
  powerSchool?: Partial<PowerSchoolProbe>;
  /** Counts every request (api/plugins/metrics.ts); served on a port of its own by api/main.ts. */
  metrics?: ApiMetrics;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { max: 1200, timeWindowMs: 60_000 };
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config);
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Run ids (workflow ids) can be longer than find-my-way's default 100.
    routerOptions: { maxParamLength: 512 },
    requestIdHeader: false,
    genReqId,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Malformed URLs (bad percent-encoding) get the contract's shape too.
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, new ApiError(400, 'VALIDATION_FAILED', 'The URL is malformed'));
      void error;
    },
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Order matters: the not-found handler learns routes as they are added and needs the auth guard,
  // which needs the rate limiter.
  // First, at the root: every answer is counted, 404s and errors included.
  if (deps.metrics) await app.register(httpMetrics, { metrics: deps.metrics });
  await app.register(errorHandler);
  await app.register(jsonBody);
  await app.register(requestId);
  await app.register(securityHeaders);
  await app.register(rateLimit);
  await app.register(authPlugin, {
    tokens: config.apiTokens,
    failures: config.authFailures,
    rateLimit: deps.rateLimit === undefined ? DEFAULT_RATE_LIMIT : deps.rateLimit,
  });
  await app.register(notFound);
  await app.register(swagger, { publicUrl: config.http.publicUrl });
  await app.register(docs);

  const services = createServices({ ...deps, logger });
  await app.register(serviceRoutes, { services });
  await app.register(
    async (v1) => {
      // The first hook of every /v1 route: before the body is parsed.
      v1.addHook('onRequest', app.authGuard);
      await v1.register(integrationRoutes, { services });
      await v1.register(powerschoolSchoolRoutes, { services });
      await v1.register(bulkRoutes, { services });
      await v1.register(runRoutes, { services });
      await v1.register(holdRoutes, { services });
      await v1.register(reportRoutes, { services });
      await v1.register(studentRoutes, { services });
      await v1.register(importedAccountRoutes, { services });
      await v1.register(matchReviewRoutes, { services });
    },
    { prefix: '/v1' },
  );

  return app;
}
