// The OpenAPI document's response examples: real answers recorded by test/api/openapi-responses.test.ts.
import { readFileSync } from 'node:fs';

/**
 * operationId → status → example name (the error code, or `success`) → body. Recorded from the
 * responses the test provokes on the real stack (`UPDATE_OPENAPI_EXAMPLES=1 npx vitest run
 * test/api/openapi-responses.test.ts`), lists cut to their first two items; the same test fails
 * when an answer it sees has no example here.
 */
export type OpenApiExamples = Record<string, Record<string, Record<string, unknown>>>;

export const EXAMPLES_FILE = new URL('./openapi-examples.json', import.meta.url);

export function loadOpenApiExamples(): OpenApiExamples {
  return JSON.parse(readFileSync(EXAMPLES_FILE, 'utf8')) as OpenApiExamples;
}

type Json = Record<string, unknown>;

/** Puts each recorded example on its operation's response, as named media-type examples. */
export function addExamples(document: Json, examples: OpenApiExamples): Json {
  for (const item of Object.values((document.paths ?? {}) as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      const byStatus = examples[operation.operationId as string];
      if (!byStatus) continue;
      const responses = operation.responses as Record<string, { content?: Record<string, Json> }>;
      for (const [status, named] of Object.entries(byStatus)) {
        const media = responses[status]?.content?.['application/json'];
        if (!media) continue;
        media.examples = Object.fromEntries(Object.entries(named).map(([name, value]) => [name, { value }]));
      }
    }
  }
  return document;
}
