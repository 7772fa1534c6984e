// The OpenAPI 3.1 document, generated from the routes' zod schemas (served at /openapi.json and under /docs).
import fastifySwagger from '@fastify/swagger';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { addExamples, loadOpenApiExamples } from '../../openapi-examples.js';

export interface SwaggerOptions {
  /** The API's base URL as clients reach it (PUBLIC_URL, else http://HOST:PORT). */
  publicUrl: string;
}

type Json = Record<string, unknown>;

/**
 * @fastify/swagger marks every request body required. Ours are optional exactly when their schema
 * accepts null (Fastify hands a route null for no body: the action routes and POST /runs), and a
 * generated client must then be able to leave the body out.
 */
function markOptionalBodies(document: Json): Json {
  for (const item of Object.values((document.paths ?? {}) as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      const body = operation.requestBody as { required?: boolean; content?: Record<string, { schema?: Json }> };
      const schema = body?.content?.['application/json']?.schema;
      const branches = (schema?.anyOf ?? []) as Json[];
      if (branches.some((branch) => branch.type === 'null')) body.required = false;
    }
  }
  return document;
}

const header = (description: string, schema: Json = { type: 'string' }) => ({ description, required: true, schema });

/** Headers every answer carries, and those of particular statuses (the error handler and auth guard set them). */
const RESPONSE_HEADERS: { all: Json; byStatus: Record<string, Json> } = {
  all: { 'X-Request-Id': header('The request id: the well-formed X-Request-Id sent, else a UUID; logged as reqId') },
  byStatus: {
    '401': { 'WWW-Authenticate': header('Bearer challenge') },
    '429': { 'Retry-After': header('Seconds until the window resets', { type: 'string', pattern: '^[0-9]+$' }) },
  },
};

function addResponseHeaders(document: Json): Json {
  for (const item of Object.values((document.paths ?? {}) as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
        response.headers = { ...RESPONSE_HEADERS.all, ...(RESPONSE_HEADERS.byStatus[status] ?? {}) };
      }
    }
  }
  return document;
}

export default fp<SwaggerOptions>(
  async (app, { publicUrl }) => {
    const examples = loadOpenApiExamples();
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
      transformObject: (documentObject) =>
        'openapiObject' in documentObject
          ? addExamples(addResponseHeaders(markOptionalBodies(documentObject.openapiObject as Json)), examples)
          : documentObject.swaggerObject,
    });
  },
  { name: 'swagger' },
);
