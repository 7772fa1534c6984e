import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { EXAMPLES_FILE, loadOpenApiExamples, type OpenApiExamples } from '../../api/openapi-examples.js';
import { OPERATION_CODES, documentedCodes, type OperationId } from '../../api/operations.js';
import { createDb, type Db } from '../../db/connection.js';
import { claimRunSlot } from '../../db/queries/runs.js';
import { existingAccountsFile, startSimulator, type Simulator } from '../../simulator/index.js';
import { PowerSchoolError } from '../../powerschool/client.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { operationsOf, responseChecker, type Method } from './openapi-support.js';
import { AUTH, settings, startApiWorker, startTestApi, type TestApi } from './support.js';

/**
 * The served OpenAPI document against real answers: every route's successes and every error code
 * its operation documents (api/operations.ts) are provoked on the real stack and validated against
 * the document's schema for that status, so the document cannot drift from the code.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let api: TestApi; // the stack: real Temporal, PostgreSQL, a worker, the simulator
let limited: TestApi; // one failed authentication per window: the next is 429
let broken: TestApi; // a database that refuses connections: 500 and 503
let brokenDb: Db;
let sim: Simulator;
// test-connection counts students without a projection, so no simulator grant makes it answer
// POWERSCHOOL_FORBIDDEN: this app's probe reports what the PowerSchool client reports for a 403.
let forbidding: TestApi;
let worker: Awaited<ReturnType<typeof startApiWorker>>;
let doc: Json;
let checker: ReturnType<typeof responseChecker>;

beforeAll(async () => {
  sim = await startSimulator({ students: 60, seed: 18, maxPageSize: 25, malformedShare: 0.2 });
  brokenDb = createDb('postgres://postgres@127.0.0.1:1/unreachable', { max: 1 });
  const forbidden = new PowerSchoolError('POWERSCHOOL_FORBIDDEN', 'No access to the field', {
    retryable: false,
    fields: ['students.dob'],
  });
  [api, limited, broken, forbidding] = await Promise.all([
    startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true' } }),
    startTestApi({ env: { API_AUTH_FAILURES_MAX: '1' } }),
    startTestApi({ deps: { db: brokenDb } }),
    startTestApi({
      deps: {
        powerSchool: {
          countStudentsInScope: () => Promise.reject(forbidden),
          listSchools: () => Promise.reject(forbidden),
        },
      },
    }),
  ]);
  worker = await startApiWorker(api);
  doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  checker = responseChecker(doc);
});
afterAll(async () => {
  await worker?.stop();
  await Promise.all([api?.close(), limited?.close(), broken?.close(), forbidding?.close(), brokenDb?.destroy()]);
  await sim?.close();
});

const ops = () => operationsOf(doc);
const v1Ops = () => ops().filter((o) => o.path.startsWith('/v1/'));
const url = (template: string, params: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? 'missing'));
const hasBody = (id: string) => (OPERATION_CODES[id as OperationId] as readonly string[]).includes('PAYLOAD_TOO_LARGE');

/** A request through `target` (default: the stack, with a valid token), checked against the document. */
async function call(
  method: Method,
  template: string,
  params: Record<string, string>,
  opts: { payload?: unknown; headers?: Record<string, string>; target?: TestApi; auth?: boolean; query?: string } = {},
): Promise<{ res: LightMyRequestResponse; body: Json | undefined }> {
  const target = opts.target ?? api;
  const res = await target.app.inject({
    method: method.toUpperCase() as 'GET',
    url: url(template, params) + (opts.query ?? ''),
    headers: { ...(opts.auth === false ? {} : AUTH), ...(opts.headers ?? {}) },
    ...(opts.payload !== undefined ? { payload: opts.payload as string } : {}),
  });
  return { res, body: checker.check(res, method, template) };
}

const INTEGRATION = '/v1/schools/{schoolId}/integration';
const REVIEWS = '/v1/schools/{schoolId}/match-reviews';
const NO_SUCH_STUDENT = '00000000-0000-4000-8000-000000000000';
const RUNS = '/v1/schools/{schoolId}/runs';
const RUN = '/v1/schools/{schoolId}/runs/{runId}';

function simSettings(s: Simulator, extra: Record<string, unknown> = {}) {
  return {
    powerschool: { serverUrl: s.url, clientId: s.clientId, clientSecret: s.clientSecret },
    grades: { from: 9, to: 12 },
    active: true,
    testRun: true,
    ...extra,
  };
}

/**
 * A school whose second commit is held: any update of an active student crosses its thresholds.
 * Returns the school, its succeeded first commit and its held run.
 */
async function heldRun(tag: string): Promise<{ schoolId: string; firstId: string; heldId: string }> {
  const schoolId = uniqueSchoolId(`oas-${tag}`);
  const strict = simSettings(sim, { testRun: false, safety: { maxUpdatedPercent: 0, minStudents: 0 } });
  expect((await call('put', INTEGRATION, { schoolId }, { payload: strict })).res.statusCode).toBe(201);
  const first = await call('post', RUNS, { schoolId });
  expect((await runToEnd(schoolId, first.body!.id)).status).toBe('succeeded');
  const renamed = sim.students.inScope(9, 12)[0]!;
  sim.students.update(renamed.dcid, { last_name: `${renamed.last_name.trim()}-${tag}` });
  const second = await call('post', RUNS, { schoolId });
  expect((await runToEnd(schoolId, second.body!.id)).status).toBe('held');
  return { schoolId, firstId: first.body!.id, heldId: second.body!.id };
}

async function runToEnd(schoolId: string, runId: string): Promise<Json> {
  return vi.waitFor(
    async () => {
      const { body } = await call('get', RUN, { schoolId, runId });
      expect(body?.status).not.toBe('running');
      return body!;
    },
    { timeout: 60_000, interval: 200 },
  );
}

describe('the served OpenAPI document against real responses', () => {
  it('names every operation in the code table, and documents exactly the statuses of its codes', () => {
    expect(doc.servers).toEqual([{ url: api.config.http.publicUrl }]);
    for (const { operationId, op, path } of ops()) {
      expect(op.summary, operationId).toEqual(expect.any(String));
      expect(op.tags, operationId).toHaveLength(1);
      expect(op.security, operationId).toEqual(path.startsWith('/v1/') ? [{ bearerAuth: [] }] : []);
    }
    const inDoc = ops().map((o) => o.operationId);
    expect(inDoc.sort()).toEqual(Object.keys(OPERATION_CODES).sort());
    for (const { operationId, op } of ops()) {
      const errorStatuses = Object.keys(op.responses)
        .map(Number)
        .filter((s) => s >= 400);
      const fromCodes = [...new Set(documentedCodes(operationId as OperationId).map((c) => c.status))];
      expect(errorStatuses.sort(), operationId).toEqual(fromCodes.sort());
      for (const { status, code } of documentedCodes(operationId as OperationId)) {
        const schema = op.responses[status].content['application/json'].schema;
        const codeSchema = schema.properties.error.properties.code;
        expect(codeSchema.enum ?? [codeSchema.const], `${operationId} ${status}`).toContain(code);
      }
    }
  });

  it('every success answer of every route matches the document', async () => {
    const schoolId = uniqueSchoolId('oas');
    const p = { schoolId };
    expect((await call('put', INTEGRATION, p, { payload: simSettings(sim) })).res.statusCode).toBe(201);
    expect((await call('put', INTEGRATION, p, { payload: simSettings(sim) })).res.statusCode).toBe(200);
    expect((await call('get', INTEGRATION, p)).res.statusCode).toBe(200);
    const probe = await call('post', `${INTEGRATION}/test-connection`, p);
    expect(probe.res.statusCode, probe.res.body).toBe(200);
    const schools = await call('get', `${INTEGRATION}/powerschool-schools`, p);
    expect(schools.res.statusCode, schools.res.body).toBe(200);
    expect((await call('post', `${INTEGRATION}/pause`, p)).res.statusCode).toBe(200);
    expect((await call('post', `${INTEGRATION}/resume`, p, { payload: {} })).res.statusCode).toBe(200);
    const bulkPause = await call(
      'post',
      '/v1/integrations/pause',
      {},
      { payload: { schoolIds: [schoolId], note: 'summer' } },
    );
    expect(bulkPause.res.statusCode).toBe(200);
    expect(
      (await call('post', '/v1/integrations/resume', {}, { payload: { schoolIds: [schoolId] } })).res.statusCode,
    ).toBe(200);

    // Existing accounts: some link, one pair of twins makes a review.
    const accounts = existingAccountsFile(sim.students.inScope(9, 12), { seed: 3 });
    const imported = await call('post', '/v1/schools/{schoolId}/students/import', p, {
      payload: { students: accounts },
    });
    expect(imported.body).toMatchObject({ imported: accounts.length });

    // A test run (changes and issues), then a commit (students).
    const preview = await call('post', RUNS, p);
    expect(preview.res.statusCode, preview.res.body).toBe(202);
    const previewRun = await runToEnd(schoolId, preview.body!.id);
    expect(previewRun.status).toBe('succeeded');
    const changes = await call('get', `${RUN}/changes`, { schoolId, runId: previewRun.id }, { query: '?limit=5' });
    expect(changes.body!.changes).toHaveLength(5);
    expect(changes.body!.nextCursor).toEqual(expect.any(String));
    const issues = await call('get', `${RUN}/issues`, { schoolId, runId: previewRun.id });
    expect(issues.body!.issues.length).toBeGreaterThan(0);
    for (const report of ['changes.csv', 'issues.csv']) {
      const csv = await call('get', `${RUN}/${report}`, { schoolId, runId: previewRun.id });
      expect(csv.res.statusCode, report).toBe(200);
      expect(csv.res.body.split('\r\n').length, report).toBeGreaterThan(2);
    }
    const commit = await call('post', RUNS, p, { payload: { testRun: false } });
    expect(commit.res.statusCode, commit.res.body).toBe(202);
    expect((await runToEnd(schoolId, commit.body!.id)).status).toBe('succeeded');
    const students = await call('get', '/v1/schools/{schoolId}/students', p);
    expect(students.body!.students.length).toBeGreaterThan(0);

    // Match reviews: list, resolve (twice: 409), reopen; unlink a linked account (twice: 409).
    const reviews = await call('get', REVIEWS, p, { query: '?status=open' });
    const review = reviews.body!.reviews[0];
    expect(review.candidates.length).toBeGreaterThan(1);
    const rp = { schoolId, reviewId: review.id };
    const link = { action: 'link', studentId: review.candidates[0].id };
    expect((await call('post', `${REVIEWS}/{reviewId}/resolve`, rp, { payload: link })).res.statusCode).toBe(200);
    const again = await call('post', `${REVIEWS}/{reviewId}/resolve`, rp, { payload: { action: 'ignore' } });
    expect(again.body!.error.code).toBe('REVIEW_RESOLVED');
    expect((await call('post', `${REVIEWS}/{reviewId}/reopen`, rp)).res.statusCode).toBe(200);
    const linked = (
      await api.db
        .selectFrom('students')
        .select('id')
        .where('school_id', '=', schoolId)
        .where('linked_by_match', '=', true)
        .executeTakeFirstOrThrow()
    ).id;
    const sp = { schoolId, studentId: linked };
    expect((await call('post', '/v1/schools/{schoolId}/students/{studentId}/unlink', sp)).res.statusCode).toBe(200);
    const notLinked = await call('post', '/v1/schools/{schoolId}/students/{studentId}/unlink', sp);
    expect(notLinked.body!.error.code).toBe('NOT_LINKED');
    const runs = await call('get', RUNS, p, { query: '?limit=1' });
    expect(runs.body!.runs).toHaveLength(1);
    const withLastRun = await call('get', INTEGRATION, p);
    expect(withLastRun.body!.lastRun).not.toBeNull();
    expect((await call('delete', INTEGRATION, p)).res.statusCode).toBe(204);

    // The safety hold: the held-runs list, a discard, an approve.
    const discarding = await heldRun('discard');
    const held = await call('get', '/v1/runs', {}, { query: '?status=held&limit=100' });
    expect(held.body!.runs.map((r: Json) => r.id)).toContain(discarding.heldId);
    const discarded = await call('post', `${RUN}/discard`, { ...discarding, runId: discarding.heldId });
    expect(discarded.res.statusCode, discarded.res.body).toBe(200);
    const approving = await heldRun('approve');
    const approved = await call('post', `${RUN}/approve`, { ...approving, runId: approving.heldId }, { payload: {} });
    expect(approved.res.statusCode, approved.res.body).toBe(202);
    expect((await runToEnd(approving.schoolId, approving.heldId)).status).toBe('succeeded');

    expect((await call('get', '/healthz', {}, { auth: false })).res.statusCode).toBe(200);
    expect((await call('get', '/readyz', {}, { auth: false })).res.statusCode).toBe(200);
  });

  it('provokes every documented error code of every route, each answer matching the document', async () => {
    const schoolId = uniqueSchoolId('oas-err');
    const unknownSchool = uniqueSchoolId('oas-none');
    const runId = `manual-${unknownSchool}-unknown`;

    // Shared by every /v1 route: a malformed path parameter, no token, the failure bucket full, our failure.
    const primed = await call('get', RUNS, { schoolId }, { target: limited, auth: false });
    expect(primed.res.statusCode).toBe(401);
    for (const { method, path, operationId } of v1Ops()) {
      // The bulk routes name their schools in the body: a malformed one there is the bad request.
      const bulk = path.startsWith('/v1/integrations/');
      const payloadFor = (id: string) =>
        bulk
          ? { schoolIds: [id] }
          : method === 'put'
            ? settings()
            : operationId === 'importStudents'
              ? { students: [{ externalId: 'e', firstName: 'A', lastName: 'B' }] }
              : operationId === 'resolveMatchReview'
                ? { action: 'create' }
                : undefined;
      const ids = { runId, reviewId: '999999999', studentId: NO_SUCH_STUDENT };
      const payload = payloadFor(schoolId);
      const bad = await call(
        method,
        path,
        { ...ids, schoolId: 'not a school!' },
        // A route with no school in its path or body (the held-runs list) gets a bad query instead.
        { payload: payloadFor('not a school!'), ...(!bulk && !path.includes('{') ? { query: '?limit=0' } : {}) },
      );
      expect(bad.body?.error.code, operationId).toBe('VALIDATION_FAILED');
      const anonymous = await call(method, path, { ...ids, schoolId }, { auth: false, payload });
      expect(anonymous.body?.error.code, operationId).toBe('UNAUTHORIZED');
      const limitedAnswer = await call(method, path, { ...ids, schoolId }, { target: limited, auth: false, payload });
      expect(limitedAnswer.body?.error.code, operationId).toBe('RATE_LIMITED');
      const failing = await call(method, path, { ...ids, schoolId }, { target: broken, payload });
      expect(failing.body?.error.code, operationId).toBe('INTERNAL');
      if (hasBody(operationId)) {
        // The import takes up to 1 MiB (1,000 accounts); every other body 64 KiB.
        const size = operationId === 'importStudents' ? 1100 * 1024 : 70 * 1024;
        const large = await call(method, path, { ...ids, schoolId }, { payload: { padding: 'x'.repeat(size) } });
        expect(large.body?.error.code, operationId).toBe('PAYLOAD_TOO_LARGE');
      }
      if ((OPERATION_CODES[operationId as OperationId] as readonly string[]).includes('NOT_FOUND')) {
        const missing = await call(method, path, { ...ids, schoolId: unknownSchool }, { payload });
        expect(missing.body?.error.code, operationId).toBe('NOT_FOUND');
      }
    }
    const zeroLimit = await call('get', RUNS, { schoolId }, { query: '?limit=0' });
    expect(zeroLimit.body?.error.code).toBe('VALIDATION_FAILED');
    const notReady = await call('get', '/readyz', {}, { target: broken, auth: false });
    expect(notReady.res.statusCode).toBe(503);
    expect(notReady.body?.error.code).toBe('NOT_READY');

    // 409s of startRun: a paused integration, then a run slot already held.
    expect(
      (await call('put', INTEGRATION, { schoolId }, { payload: settings({ active: false }) })).res.statusCode,
    ).toBe(201);
    expect((await call('post', RUNS, { schoolId })).body?.error.code).toBe('INTEGRATION_INACTIVE');
    await call('post', `${INTEGRATION}/resume`, { schoolId });
    const held = await claimRunSlot(api.db, {
      id: `manual-${schoolId}-${randomUUID()}`,
      schoolId,
      trigger: 'manual',
      testRun: true,
    });
    expect(held.claimed).toBe(true);
    expect((await call('post', RUNS, { schoolId })).body?.error.code).toBe('RUN_IN_PROGRESS');

    // 422s of testConnection and of the schools route: a wrong secret, nothing listening, a column not granted.
    for (const [method, route] of [
      ['post', `${INTEGRATION}/test-connection`],
      ['get', `${INTEGRATION}/powerschool-schools`],
    ] as const) {
      const probe = async (powerschool: Record<string, string>) => {
        const s = uniqueSchoolId('oas-probe');
        await call('put', INTEGRATION, { schoolId: s }, { payload: { ...simSettings(sim), powerschool } });
        return (await call(method, route, { schoolId: s })).body?.error.code;
      };
      expect(await probe({ serverUrl: sim.url, clientId: sim.clientId, clientSecret: 'wrong-secret' })).toBe(
        'POWERSCHOOL_AUTH_FAILED',
      );
      await call('put', INTEGRATION, { schoolId }, { target: forbidding, payload: settings() });
      const forbidden = await call(method, route, { schoolId }, { target: forbidding });
      expect(forbidden.body?.error).toMatchObject({
        code: 'POWERSCHOOL_FORBIDDEN',
        details: [{ path: 'students.dob' }],
      });
      expect(await probe({ serverUrl: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's' })).toBe(
        'POWERSCHOOL_UNREACHABLE',
      );
    }

    // The hold's refusals: a run that is not held; a held run no worker takes the decision for.
    const refusing = await heldRun('refuse');
    for (const decision of ['approve', 'discard']) {
      const notHeld = await call('post', `${RUN}/${decision}`, { ...refusing, runId: refusing.firstId });
      expect(notHeld.body?.error.code, decision).toBe('RUN_NOT_HELD');
    }
    await worker.stop();
    for (const decision of ['approve', 'discard']) {
      const unavailable = await call('post', `${RUN}/${decision}`, { ...refusing, runId: refusing.heldId });
      expect(unavailable.body?.error.code, decision).toBe('TEMPORAL_UNAVAILABLE');
    }

    // Every code the table lists for an operation was answered by it above.
    for (const [operationId, codes] of Object.entries(OPERATION_CODES)) {
      const successes = checker.seen.filter((s) => s.operationId === operationId && s.status < 300);
      expect(successes.length, `${operationId} never answered a success`).toBeGreaterThan(0);
      const seenCodes = new Set(checker.seen.filter((s) => s.operationId === operationId).map((s) => s.code));
      for (const code of codes) expect(seenCodes.has(code), `${operationId} never answered ${code}`).toBe(true);
    }
  }, 120_000);

  it('has a recorded example for every answer it saw (UPDATE_OPENAPI_EXAMPLES=1 records them)', () => {
    const cut = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.slice(0, 2).map(cut)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cut(v)]))
          : value;
    const recorded: OpenApiExamples = {};
    for (const { operationId, status, code, body } of checker.seen) {
      if (body === undefined) continue;
      const byStatus = (recorded[operationId] ??= {});
      const named = (byStatus[String(status)] ??= {});
      named[code ?? 'success'] ??= cut(body);
    }
    if (process.env.UPDATE_OPENAPI_EXAMPLES === '1') {
      writeFileSync(EXAMPLES_FILE, `${JSON.stringify(recorded, null, 2)}\n`);
    }
    const keys = (e: OpenApiExamples) =>
      Object.entries(e).flatMap(([op, byStatus]) =>
        Object.entries(byStatus).flatMap(([status, named]) => Object.keys(named).map((n) => `${op} ${status} ${n}`)),
      );
    expect(keys(loadOpenApiExamples()).sort()).toEqual(keys(recorded).sort());
  });
});
