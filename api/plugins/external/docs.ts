// The Swagger UI under /docs, the API's only HTML, with helmet's full header set in its own scope.
import fastifyHelmet from '@fastify/helmet';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';

/** Where the Swagger UI is served. */
export const DOCS_PREFIX = '/docs';

export function isDocsRoute(url: string | undefined): boolean {
  return url !== undefined && (url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`));
}

/**
 * Encapsulated on purpose (no fastify-plugin): helmet's headers, and a CSP that lets the Swagger
 * UI run its inline styles and scripts, apply to this scope only; per request they cost more than
 * a JSON route should.
 */
const docs: FastifyPluginAsync = async (app) => {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });
};

export default docs;
