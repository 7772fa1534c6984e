// Holds real responses to the served OpenAPI document: a JSON Schema 2020-12 validator over its response schemas.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type Method = 'get' | 'put' | 'post' | 'delete';

export interface Seen {
  operationId: string;
  status: number;
  code?: string;
  body?: unknown;
}

/** JSON Pointer escaping of one path segment. */
const pointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * `check(response, method, pathTemplate)` finds the operation in the document, asserts it documents
 * the response's status, validates the body against that status's schema (with the document's own
 * $refs) and records what was seen, so a test can ask which documented codes it provoked.
 */
export function responseChecker(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const seen: Seen[] = [];

  function check(res: LightMyRequestResponse, method: Method, template: string): Json | undefined {
    const operation = doc.paths?.[template]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${template} is not in the document`);
    const status = String(res.statusCode);
    const response = operation.responses?.[status];
    if (!response) {
      throw new Error(`${operation.operationId} answered ${status}, not documented: ${res.body.slice(0, 300)}`);
    }
    for (const [name, spec] of Object.entries((response.headers ?? {}) as Json)) {
      if (spec.required && res.headers[name.toLowerCase()] === undefined) {
        throw new Error(`${operation.operationId} ${status}: documented header ${name} missing`);
      }
    }
    // A text/csv answer (the run reports): its media type must match; there is no JSON to validate.
    if (response.content?.['text/csv'] !== undefined) {
      if (!String(res.headers['content-type']).startsWith('text/csv')) {
        throw new Error(
          `${operation.operationId} ${status}: documented as text/csv, sent ${res.headers['content-type']}`,
        );
      }
      seen.push({ operationId: operation.operationId, status: res.statusCode, body: undefined });
      return undefined;
    }
    const body = res.body === '' ? undefined : (JSON.parse(res.body) as Json);
    if (response.content === undefined) {
      if (body !== undefined) throw new Error(`${operation.operationId} ${status}: documented without a body`);
    } else {
      const ref = `openapi.json#/paths/${pointer(template)}/${method}/responses/${status}/content/application~1json/schema`;
      const validate = ajv.getSchema(ref);
      if (!validate) throw new Error(`${operation.operationId} ${status}: no JSON schema at ${ref}`);
      if (!validate(body)) {
        throw new Error(
          `${operation.operationId} ${status} does not match the document: ${ajv.errorsText(validate.errors)}\n${res.body.slice(0, 500)}`,
        );
      }
    }
    const code = typeof body?.error?.code === 'string' ? (body.error.code as string) : undefined;
    seen.push({ operationId: operation.operationId, status: res.statusCode, ...(code ? { code } : {}), body });
    return body;
  }

  return { check, seen };
}

/** Every operation in the document: its id, method and path template. */
export function operationsOf(doc: Json): Array<{ operationId: string; method: Method; path: string; op: Json }> {
  const out: Array<{ operationId: string; method: Method; path: string; op: Json }> = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      out.push({ operationId: (op as Json).operationId, method: method as Method, path, op: op as Json });
    }
  }
  return out;
}
