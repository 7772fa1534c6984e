import { randomUUID } from 'node:crypto';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { SecretBox } from '../secrets/secret-box.js';
import { ApiError, installErrorHandler, sendError } from './errors.js';
import { createLogger } from '../logging/logger.js';
import { createAuthGuard, createTokenVerifier } from './plugins/auth.js';
import { integrationRoutes } from './routes/integration.js';
import { runRoutes } from './routes/runs.js';
import { serviceRoutes } from './routes/service.js';
import { studentRoutes } from './routes/students.js';
import { createPowerSchoolProbe, type PowerSchoolProbe } from './powerschool-probe.js';

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
  powerSchool?: PowerSchoolProbe;
}

/** Everything a route needs, built once per app. */
export interface Services {
  config: Config;
  db: Db;
  temporal: Client;
  box: SecretBox;
  powerSchool: PowerSchoolProbe;
  logger: Logger;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { max: 1200, timeWindowMs: 60_000 };
export const DEFAULT_BODY_LIMIT = 64 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Where the Swagger UI (the only HTML) is served. */
const DOCS_PREFIX = '/docs';

/**
 * Security headers of every JSON response (all routes but /docs, 404s and errors included): the
 * ones that matter for an API that serves only JSON, set from one constant object. Helmet's full
 * set, with the CSP the Swagger UI needs, is applied only under /docs (see buildApp).
 */
const JSON_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

function isDocsRoute(url: string | undefined): boolean {
  return url !== undefined && (url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`));
}

/** Known route patterns → methods, to tell a 405 from a 404. */
class RouteTable {
  private readonly routes: Array<{ re: RegExp; methods: Set<string> }> = [];
  add(url: string, methods: string[]) {
    const source = url
      .split('/')
      .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    this.routes.push({ re: new RegExp(`^${source}$`), methods: new Set(methods) });
  }
  methodsFor(path: string): string[] {
    const all = new Set<string>();
    for (const r of this.routes) if (r.re.test(path)) for (const m of r.methods) all.add(m);
    return [...all].sort();
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config);
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Run ids (workflow ids) can be longer than find-my-way's default 100.
    routerOptions: { maxParamLength: 512 },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
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
  installErrorHandler(app);

  // An empty body with Content-Type: application/json means "no body", not an error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    parseJson(request, body as string, done);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // /docs gets helmet's headers instead; a reply header here would override helmet's CSP there.
    if (!isDocsRoute(request.routeOptions.url)) reply.headers(JSON_SECURITY_HEADERS);
    done(null, payload);
  });

  const routes = new RouteTable();
  app.addHook('onRoute', (route) => {
    routes.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
  });

  // The general limit only counts requests with a valid token; failed authentications have their
  // own bucket (createAuthGuard), so a client with a bad token cannot lock out its good traffic.
  const rateLimit = deps.rateLimit === undefined ? DEFAULT_RATE_LIMIT : deps.rateLimit;
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'RATE_LIMITED', `Too many requests; retry after ${context.after}`),
  });
  const guard = createAuthGuard({
    verify: createTokenVerifier(config.apiTokens),
    failures: config.authFailures,
    generalLimit: rateLimit ? app.rateLimit({ max: rateLimit.max, timeWindow: rateLimit.timeWindowMs }) : undefined,
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    try {
      // Unknown /v1 paths are guarded like known ones: 401 (or 429) before 404, and counted.
      if (path === '/v1' || path.startsWith('/v1/')) await guard(request, reply);
    } catch (err) {
      return sendError(request, reply, err);
    }
    const allowed = routes.methodsFor(path);
    if (allowed.length > 0) {
      return sendError(
        request,
        reply,
        new ApiError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, undefined, {
          allow: allowed.join(', '),
        }),
      );
    }
    return sendError(request, reply, new ApiError(404, 'NOT_FOUND', 'No such route'));
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PowerSchool Sync',
        description: "Keeps a school's students in Cialfo in step with its PowerSchool SIS.",
        version: '1.0.0',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  // Helmet (its full header set, and a CSP that lets the Swagger UI run its inline styles and
  // scripts) only in this scope, the only HTML: per request it costs more than a JSON route should.
  await app.register(async (docs) => {
    await docs.register(fastifyHelmet, {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", "'unsafe-inline'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
        },
      },
    });
    await docs.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });
  });

  const services: Services = {
    config,
    db: deps.db,
    temporal: deps.temporalClient,
    box: new SecretBox(config.secretsKeys),
    powerSchool: deps.powerSchool ?? createPowerSchoolProbe(config, logger),
    logger,
  };

  await app.register(serviceRoutes, { services });

  await app.register(
    async (v1) => {
      // The first hook of every /v1 route: before the body is parsed.
      v1.addHook('onRequest', guard);
      await v1.register(integrationRoutes, { services });
      await v1.register(runRoutes, { services });
      await v1.register(studentRoutes, { services });
    },
    { prefix: '/v1' },
  );

  return app;
}
