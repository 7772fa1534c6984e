// A client of the API as Cialfo's backend would write one: openapi-fetch over the types openapi-typescript generates from /openapi.json.
// Type-checked against freshly generated types (./schema.d.ts, written by the test) and run against the
// test stack by test/api/openapi-client.test.ts; excluded from the project's own typecheck for that reason.
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export interface ProgramInput {
  baseUrl: string;
  token: string;
  schoolId: string;
  powerschool: { serverUrl: string; clientId: string; clientSecret: string };
}

export async function clientProgram(input: ProgramInput) {
  const client = createClient<paths>({
    baseUrl: input.baseUrl,
    headers: { authorization: `Bearer ${input.token}` },
  });
  const school = { params: { path: { schoolId: input.schoolId } } };

  // Settings stored paused: starting a run is refused with a 409 the client can tell apart.
  const stored = await client.PUT('/v1/schools/{schoolId}/integration', {
    ...school,
    body: { powerschool: input.powerschool, active: false, testRun: true, grades: { from: 9, to: 12 } },
  });
  if (!stored.data) throw new Error(`settings not stored: ${stored.response.status}`);
  const createdAt: string = stored.data.createdAt;

  const refused = await client.POST('/v1/schools/{schoolId}/runs', { ...school, body: { testRun: true } });
  if (!refused.error) throw new Error('a paused integration started a run');
  // The codes are a union the compiler knows: a misspelt or undocumented code does not compile.
  let refusedAs: 'paused' | 'busy' | 'other';
  switch (refused.error.error.code) {
    case 'INTEGRATION_INACTIVE':
      refusedAs = 'paused';
      break;
    case 'RUN_IN_PROGRESS':
      refusedAs = 'busy';
      break;
    default:
      refusedAs = 'other';
  }
  const refusedStatus = refused.response.status;
  const refusedCode = refused.error.error.code;

  const resumed = await client.POST('/v1/schools/{schoolId}/integration/resume', school);
  if (!resumed.data?.active) throw new Error('not resumed');

  // A test run, read until it ends, then what it would change.
  const started = await client.POST('/v1/schools/{schoolId}/runs', { ...school, body: { testRun: true } });
  if (!started.data) throw new Error(`run not started: ${started.error?.error.code}`);
  const runId = started.data.id;
  let run = started.data;
  for (const deadline = Date.now() + 60_000; run.status === 'running';) {
    if (Date.now() > deadline) throw new Error(`run ${runId} still running`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const read = await client.GET('/v1/schools/{schoolId}/runs/{runId}', {
      params: { path: { schoolId: input.schoolId, runId } },
    });
    if (!read.data) throw new Error(`run not readable: ${read.error?.error.code}`);
    run = read.data;
  }

  const changes: Array<{ type: 'create' | 'update' | 'depart' | 'link'; powerschoolId: string | null }> = [];
  let cursor: string | undefined;
  do {
    const page = await client.GET('/v1/schools/{schoolId}/runs/{runId}/changes', {
      params: { path: { schoolId: input.schoolId, runId }, query: { limit: '50', cursor } },
    });
    if (!page.data) throw new Error(`changes not readable: ${page.error?.error.code}`);
    changes.push(...page.data.changes);
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);

  // A run that does not exist: a 404 with the error shape, typed.
  const missing = await client.GET('/v1/schools/{schoolId}/runs/{runId}', {
    params: { path: { schoolId: input.schoolId, runId: `${runId}-missing` } },
  });
  const missingCode = missing.error?.error.code;
  const runIsMissing = missing.error?.error.code === 'NOT_FOUND';

  return {
    createdAt,
    refused: { status: refusedStatus, code: refusedCode, as: refusedAs },
    run: { id: runId, status: run.status, testRun: run.testRun, counts: run.counts },
    changes,
    missing: { status: missing.response.status, code: missingCode, runIsMissing },
  };
}
