// The OpenAPI 3.1 document, generated from the routes' zod schemas (served at /openapi.json and under /docs).
import fastifySwagger from '@fastify/swagger';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export default fp(
  async (app) => {
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
  },
  { name: 'swagger' },
);
