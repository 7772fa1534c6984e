// The OpenAPI 3.1 document, generated from the routes' zod schemas (served at /openapi.json and under /docs).
import fastifySwagger from '@fastify/swagger';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export interface SwaggerOptions {
  /** The API's base URL as clients reach it (PUBLIC_URL, else http://HOST:PORT). */
  publicUrl: string;
}

export default fp<SwaggerOptions>(
  async (app, { publicUrl }) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'PowerSchool Sync',
          description:
            "Keeps a school's students in Cialfo in step with its PowerSchool SIS. Every error answers " +
            '`{"error": {"code", "message", "details"?}}`; each operation lists the codes it can answer.',
          version: '1.0.0',
          license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
        },
        servers: [{ url: publicUrl }],
        tags: [
          { name: 'integration', description: "A school's PowerSchool settings, schedule and connection check" },
          { name: 'runs', description: 'Sync runs: start one, follow it, read what it changed and its issues' },
          { name: 'students', description: 'The students synced into Cialfo' },
          { name: 'service', description: 'Liveness and readiness, without authentication' },
        ],
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', description: 'One of the tokens in API_TOKENS' },
          },
        },
      },
      transform: jsonSchemaTransform,
    });
  },
  { name: 'swagger' },
);
