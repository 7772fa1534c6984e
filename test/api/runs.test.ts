import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createLogger } from '../../logging/logger.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { LogCapture, SECOND_TOKEN, settings, startTestApi, type TestApi } from './support.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const runsUrl = (schoolId: string, rest = '') => `/v1/schools/${schoolId}/runs${rest}`;

async function putIntegration(schoolId: string, patch: Record<string, unknown> = {}) {
  const res = await api.req({ method: 'PUT', url: `/v1/schools/${schoolId}/integration`, payload: settings(patch) });
  expect([200, 201]).toContain(res.statusCode);
}

/** Follows nextCursor to the end, returning every item in order. */
async function walk<T>(url: string, key: string, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await api.req({
      method: 'GET',
      url: `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    items.push(...body[key]);
    expect(body[key].length).toBeLessThanOrEqual(limit);
    cursor = body.nextCursor;
    pages++;
    expect(pages).toBeLessThan(1000);
  } while (cursor !== null);
  return { items, pages };
}

describe('POST /runs', () => {
  it('404 without an integration; 409 INTEGRATION_INACTIVE while paused', async () => {
    const id = uniqueSchoolId();
    let res = await api.req({ method: 'POST', url: runsUrl(id) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
    await putIntegration(id);
    res = await api.req({ method: 'POST', url: runsUrl(id), payload: { testRun: false } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('INTEGRATION_INACTIVE');
  });

  it('400 on unknown body keys or a non-boolean testRun', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id, { active: true });
    for (const payload of [{ testrun: true }, { testRun: 'yes' }]) {
      const res = await api.req({ method: 'POST', url: runsUrl(id), payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('202 with the Run, starts the workflow with search attributes and summary; a second one is 409 RUN_IN_PROGRESS', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id, { active: true, testRun: true });
    const res = await api.req({ method: 'POST', url: runsUrl(id) });
    expect(res.statusCode).toBe(202);
    const run = res.json();
    expect(run).toEqual({
      id: expect.stringMatching(new RegExp(`^powerschool-sync-${id}-manual-`)),
      schoolId: id,
      trigger: 'manual',
      testRun: true,
      status: 'running',
      startedAt: expect.any(String),
      finishedAt: null,
      progress: expect.objectContaining({ pagesFetched: 0, recordsFetched: 0 }),
      counts: {
        fetched: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        invalid: 0,
        missing: 0,
        departed: 0,
        linked: 0,
        needsReview: 0,
      },
      error: null,
      notification: { status: expect.any(String), messageId: null },
      temporal: { workflowId: run.id, runId: expect.any(String), uiUrl: expect.any(String) },
      hold: null,
    });
    expect(run.temporal.uiUrl).toBe(
      `${api.config.temporal.uiUrl}/namespaces/default/workflows/${run.id}/${run.temporal.runId}`,
    );

    const handle = api.client.workflow.getHandle(run.id);
    const d = await handle.describe();
    expect(d.type).toBe('syncStudents');
    expect(d.taskQueue).toBe(api.config.temporal.taskQueue);
    expect(d.runId).toBe(run.temporal.runId);
    expect(d.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['SchoolId', id],
        ['SyncTrigger', 'manual'],
        ['TestRun', true],
      ]),
    );
    expect(await d.staticSummary()).toMatch(new RegExp(`${id}.*test run`));
    const history = await handle.fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(input!).toString())).toEqual({ schoolId: id, trigger: 'manual', testRun: true });

    const second = await api.req({ method: 'POST', url: runsUrl(id), payload: { testRun: false } });
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toMatchObject({ code: 'RUN_IN_PROGRESS', details: [{ runId: run.id }] });

    // The single-run GET carries progress; lists and lastRun do not.
    const got = await api.req({ method: 'GET', url: runsUrl(id, `/${run.id}`) });
    expect(got.json()).toEqual(run);
    const list = await api.req({ method: 'GET', url: runsUrl(id) });
    const { progress: _progress, ...summary } = run;
    expect(list.json()).toEqual({ runs: [summary], nextCursor: null });
    const integration = await api.req({ method: 'GET', url: `/v1/schools/${id}/integration` });
    expect(integration.json().lastRun).toEqual(summary);
    // Another school cannot read this run.
    expect((await api.req({ method: 'GET', url: runsUrl(uniqueSchoolId(), `/${run.id}`) })).statusCode).toBe(404);

    await handle.terminate('test over');
  });

  it('a slot held by a dead run is released (terminated workflow, or no workflow after a grace period)', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id, { active: true });
    const first = (await api.req({ method: 'POST', url: runsUrl(id) })).json();
    await api.client.workflow.getHandle(first.id).terminate('operator killed it');
    const second = await api.req({ method: 'POST', url: runsUrl(id) });
    expect(second.statusCode).toBe(202);
    expect((await api.req({ method: 'GET', url: runsUrl(id, `/${first.id}`) })).json()).toMatchObject({
      status: 'cancelled',
      error: { code: 'RUN_ABANDONED' },
    });
    await api.client.workflow.getHandle(second.json().id).terminate('test over');

    // A running row with no workflow: young → still 409 (its start may be in flight); old → released.
    const other = uniqueSchoolId();
    await putIntegration(other, { active: true });
    const ghost = `powerschool-sync-${other}-ghost`;
    await api.db
      .insertInto('runs')
      .values({ id: ghost, school_id: other, trigger: 'manual', test_run: true })
      .execute();
    const busy = await api.req({ method: 'POST', url: runsUrl(other) });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error.details).toEqual([{ runId: ghost, status: 'running' }]);
    await api.db
      .updateTable('runs')
      .set({ started_at: new Date(Date.now() - 5 * 60_000) as never })
      .where('id', '=', ghost)
      .execute();
    const freed = await api.req({ method: 'POST', url: runsUrl(other) });
    expect(freed.statusCode).toBe(202);
    expect((await api.req({ method: 'GET', url: runsUrl(other, `/${ghost}`) })).json().status).toBe('failed');
    await api.client.workflow.getHandle(freed.json().id).terminate('test over');
  });

  it('concurrent POSTs: exactly one 202, every other one 409 RUN_IN_PROGRESS naming it', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id, { active: true });
    const results = await Promise.all(Array.from({ length: 5 }, () => api.req({ method: 'POST', url: runsUrl(id) })));
    const accepted = results.filter((r) => r.statusCode === 202);
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!.json().id;
    for (const r of results.filter((x) => x.statusCode !== 202)) {
      expect(r.statusCode).toBe(409);
      expect(r.json().error.details).toEqual([{ runId: winner, status: 'running' }]);
    }
    await api.client.workflow.getHandle(winner).terminate('test over');
  });

  it('the body testRun overrides the integration for this run', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id, { active: true, testRun: true });
    const res = await api.req({ method: 'POST', url: runsUrl(id), payload: { testRun: false } });
    expect(res.statusCode).toBe(202);
    expect(res.json().testRun).toBe(false);
    // The run itself is a commit, not only the answer: the workflow's input and search attribute.
    const handle = api.client.workflow.getHandle(res.json().id);
    const history = await handle.fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(input!).toString())).toMatchObject({ schoolId: id, testRun: false });
    const attributes = (await handle.describe()).typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]);
    expect(attributes).toContainEqual(['TestRun', false]);
    await handle.terminate('test over');
  });

  it('when Temporal refuses the start: 500 INTERNAL, the run is marked failed and the slot freed', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id, { active: true });
    const refusing = Object.create(api.client, {
      workflow: {
        value: {
          start: async () => {
            throw new Error('14 UNAVAILABLE: internal detail 10.0.0.7');
          },
        },
      },
    }) as Client;
    const app = await buildApp({
      config: api.config,
      db: api.db,
      temporalClient: refusing,
      logger: createLogger(api.config, new LogCapture()),
      rateLimit: false,
    });
    try {
      const res = await app.inject({
        method: 'POST',
        url: runsUrl(id),
        headers: { authorization: `Bearer ${SECOND_TOKEN}` },
      });
      expect(res.statusCode).toBe(500);
      expect(res.json().error.code).toBe('INTERNAL');
      expect(res.body).not.toContain('10.0.0.7');
    } finally {
      await app.close();
    }
    const list = (await api.req({ method: 'GET', url: runsUrl(id) })).json();
    expect(list.runs).toHaveLength(1);
    expect(list.runs[0]).toMatchObject({
      status: 'failed',
      error: { code: 'START_FAILED' },
      finishedAt: expect.any(String),
    });
    // The slot is free: the next run starts.
    const next = await api.req({ method: 'POST', url: runsUrl(id) });
    expect(next.statusCode).toBe(202);
    await api.client.workflow.getHandle(next.json().id).terminate('test over');
  });
});

describe('reading runs, changes, issues and students', () => {
  it('runs: newest first, every run exactly once across pages, ties on started_at broken by id', async () => {
    const id = uniqueSchoolId();
    const base = Date.parse('2026-01-01T00:00:00Z');
    const rows = Array.from({ length: 45 }, (_, i) => ({
      id: `powerschool-sync-${id}-r${String(i).padStart(3, '0')}`,
      school_id: id,
      trigger: i % 3 === 0 ? ('schedule' as const) : ('manual' as const),
      test_run: i % 2 === 0,
      status: 'succeeded' as const,
      // Groups of five share a timestamp; others differ by a microsecond (a JS Date would lose it).
      started_at: new Date(base + Math.floor(i / 5) * 1000)
        .toISOString()
        .replace('Z', `${i % 5 === 4 ? '001' : '000'}Z`),
      finished_at: new Date(base + 60_000).toISOString(),
    }));
    // db/types.ts wraps started_at as Generated<ColumnType>, which Kysely's insert type does not unwrap.
    await api.db
      .insertInto('runs')
      .values(rows as never)
      .execute();
    const { items, pages } = await walk<{ id: string; startedAt: string }>(runsUrl(id), 'runs', 7);
    expect(pages).toBe(7);
    expect(items.map((r) => r.id)).toHaveLength(45);
    expect(new Set(items.map((r) => r.id)).size).toBe(45);
    const expected = [...rows].sort((a, b) =>
      a.started_at === b.started_at ? b.id.localeCompare(a.id) : b.started_at.localeCompare(a.started_at),
    );
    expect(items.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    expect(items[0]).not.toHaveProperty('progress');
  });

  it('a run added while paging does not make the walk repeat or skip', async () => {
    const id = uniqueSchoolId();
    await api.db
      .insertInto('runs')
      .values(
        Array.from({ length: 10 }, (_, i) => ({
          id: `${id}-old-${i}`,
          school_id: id,
          trigger: 'manual' as const,
          test_run: true,
          status: 'succeeded' as const,
          started_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        })) as never,
      )
      .execute();
    const first = (await api.req({ method: 'GET', url: runsUrl(id, '?limit=4') })).json();
    await api.db
      .insertInto('runs')
      .values({ id: `${id}-new`, school_id: id, trigger: 'manual', test_run: true, status: 'succeeded' })
      .execute();
    let cursor = first.nextCursor;
    const seen = first.runs.map((r: { id: string }) => r.id);
    while (cursor) {
      const page = (await api.req({ method: 'GET', url: runsUrl(id, `?limit=4&cursor=${cursor}`) })).json();
      seen.push(...page.runs.map((r: { id: string }) => r.id));
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
  });

  it('a run JSON maps every column: counts, error, notification, progress, temporal link', async () => {
    const id = uniqueSchoolId();
    const runId = `powerschool-sync-${id}-2026-12-06T02:00:00Z`;
    await api.db
      .insertInto('runs')
      .values({
        id: runId,
        school_id: id,
        trigger: 'schedule',
        test_run: false,
        status: 'failed',
        temporal_run_id: 'abc-123',
        finished_at: '2026-12-06T02:05:00Z',
        pages_fetched: 3,
        pages_total: 10,
        records_fetched: 3000,
        records_total: 9750,
        count_fetched: 3000,
        count_created: 1,
        count_updated: 2,
        count_unchanged: 3,
        count_invalid: 4,
        count_missing: 5,
        count_linked: 6,
        count_needs_review: 7,
        error_code: 'POWERSCHOOL_AUTH_FAILED',
        error_message: 'PowerSchool refused the credentials',
        notification_status: 'sent',
        notification_message_id: 'msg-1',
        hold_reasons: JSON.stringify([{ code: 'TOO_MANY_UPDATES', count: 80, base: 100, percent: 80, limit: 75 }]),
        held_at: '2026-12-06T02:04:00Z',
        hold_expires_at: '2026-12-13T02:04:00Z',
      })
      .execute();
    const res = await api.req({ method: 'GET', url: runsUrl(id, `/${runId}`) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: runId,
      schoolId: id,
      trigger: 'schedule',
      testRun: false,
      status: 'failed',
      startedAt: expect.stringMatching(/Z$/),
      finishedAt: '2026-12-06T02:05:00.000Z',
      progress: { pagesFetched: 3, pagesTotal: 10, recordsFetched: 3000, recordsTotal: 9750 },
      counts: {
        fetched: 3000,
        created: 1,
        updated: 2,
        unchanged: 3,
        invalid: 4,
        missing: 5,
        departed: 0,
        linked: 6,
        needsReview: 7,
      },
      error: { code: 'POWERSCHOOL_AUTH_FAILED', message: 'PowerSchool refused the credentials' },
      notification: { status: 'sent', messageId: 'msg-1' },
      temporal: {
        workflowId: runId,
        runId: 'abc-123',
        uiUrl: `${api.config.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(runId)}/abc-123`,
      },
      hold: {
        reasons: [{ code: 'TOO_MANY_UPDATES', count: 80, base: 100, percent: 80, limit: 75 }],
        heldAt: '2026-12-06T02:04:00.000Z',
        expiresAt: '2026-12-13T02:04:00.000Z',
      },
    });
  });

  it('changes (with the type filter) and issues: every item once, powerschoolId from the current mapping', async () => {
    const id = uniqueSchoolId();
    const runId = `${id}-run`;
    await putIntegration(id, { mapping: { powerschoolId: 'STUDENT_NUMBER' } });
    await api.db
      .insertInto('runs')
      .values({ id: runId, school_id: id, trigger: 'manual', test_run: true, status: 'succeeded' })
      .execute();
    await api.db
      .insertInto('run_changes')
      .values(
        Array.from({ length: 33 }, (_, i) => ({
          run_id: runId,
          dcid: 1000 + i,
          type: i % 3 === 0 ? ('update' as const) : ('create' as const),
          before: i % 3 === 0 ? JSON.stringify({ firstName: 'Old', studentNumber: `${5000 + i}` }) : null,
          after: JSON.stringify({ firstName: 'New', studentNumber: `${5000 + i}` }),
        })),
      )
      .execute();
    await api.db
      .insertInto('run_issues')
      .values(
        Array.from({ length: 12 }, (_, i) => ({
          run_id: runId,
          dcid: String(2000 + i),
          powerschool_id: i % 2 ? String(7000 + i) : null,
          field: i % 2 ? 'dob' : 'last_name',
          code: i % 2 ? 'INVALID_DATE' : 'MISSING',
          message: 'why',
          skipped: i % 2 === 0,
        })),
      )
      .execute();

    const all = await walk<{ powerschoolId: string; type: string; before: unknown; after: { studentNumber: string } }>(
      runsUrl(id, `/${runId}/changes`),
      'changes',
      5,
    );
    expect(all.items).toHaveLength(33);
    expect(all.items[0]).toEqual({
      powerschoolId: '5000',
      type: 'update',
      before: { firstName: 'Old', studentNumber: '5000' },
      after: { firstName: 'New', studentNumber: '5000' },
    });
    expect(new Set(all.items.map((c) => c.powerschoolId)).size).toBe(33);
    const updates = await walk<{ type: string }>(runsUrl(id, `/${runId}/changes?type=update`), 'changes', 4);
    expect(updates.items).toHaveLength(11);
    expect(updates.items.every((c) => c.type === 'update')).toBe(true);

    const issues = await walk<Record<string, unknown>>(runsUrl(id, `/${runId}/issues`), 'issues', 5);
    expect(issues.items).toHaveLength(12);
    expect(issues.items[1]).toEqual({
      dcid: '2001',
      powerschoolId: '7001',
      field: 'dob',
      code: 'INVALID_DATE',
      message: 'why',
      skipped: false,
    });
    expect(issues.items[0]).toMatchObject({ powerschoolId: null, skipped: true });
    // A run of another school is not reachable through this school.
    expect((await api.req({ method: 'GET', url: runsUrl(uniqueSchoolId(), `/${runId}/changes`) })).statusCode).toBe(
      404,
    );
  });

  it('students: every one exactly once, fields as stored, powerschoolId follows the current mapping even after delete', async () => {
    const id = uniqueSchoolId();
    await putIntegration(id);
    const lastRun = `${id}-last`;
    await api.db
      .insertInto('students')
      .values(
        Array.from({ length: 53 }, (_, i) => ({
          school_id: id,
          dcid: 300 + i * 7,
          student_number: i === 5 ? null : `${9000 + i}`,
          first_name: `Zoë ${i}`,
          last_name: 'Ng',
          graduation_year: 2027 + (i % 4),
          date_of_birth: i % 2 ? '2010-02-28' : null,
          gender: i % 2 ? 'F' : null,
          last_seen_run_id: lastRun,
        })),
      )
      .execute();
    const byDcid = await walk<Record<string, unknown>>(`/v1/schools/${id}/students`, 'students', 10);
    expect(byDcid.items).toHaveLength(53);
    expect(new Set(byDcid.items.map((s) => s.dcid)).size).toBe(53);
    expect(byDcid.items[1]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      schoolId: id,
      powerschoolId: '307',
      dcid: '307',
      studentNumber: '9001',
      firstName: 'Zoë 1',
      lastName: 'Ng',
      graduationYear: 2028,
      dateOfBirth: '2010-02-28',
      gender: 'F',
      gradeLevel: null,
      schoolNumber: null,
      status: 'active',
      departedAt: null,
      departureReason: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastSeenRunId: lastRun,
      externalId: null,
    });

    await putIntegration(id, { mapping: { powerschoolId: 'STUDENT_NUMBER' } });
    const byNumber = await walk<Record<string, unknown>>(`/v1/schools/${id}/students`, 'students', 100);
    expect(byNumber.pages).toBe(1);
    expect(byNumber.items[1]!.powerschoolId).toBe('9001');
    expect(byNumber.items[5]!.powerschoolId).toBeNull();

    // After the integration is deleted: the mapping of the school's last run, else DCID.
    await api.req({ method: 'DELETE', url: `/v1/schools/${id}/integration` });
    let after = (await api.req({ method: 'GET', url: `/v1/schools/${id}/students?limit=2` })).json();
    expect(after.students[1].powerschoolId).toBe('307');
    await api.db
      .insertInto('runs')
      .values({
        id: `${id}-with-settings`,
        school_id: id,
        trigger: 'manual',
        test_run: false,
        status: 'succeeded',
        settings: JSON.stringify({ mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: false, gender: false } }),
      })
      .execute();
    after = (await api.req({ method: 'GET', url: `/v1/schools/${id}/students?limit=2` })).json();
    expect(after.students[1].powerschoolId).toBe('9001');
    expect(after.nextCursor).toEqual(expect.any(String));
  });

  it('lists of a school with nothing are empty, not 404', async () => {
    const id = `nobody-${randomUUID().slice(0, 8)}`;
    expect((await api.req({ method: 'GET', url: runsUrl(id) })).json()).toEqual({ runs: [], nextCursor: null });
    expect((await api.req({ method: 'GET', url: `/v1/schools/${id}/students` })).json()).toEqual({
      students: [],
      nextCursor: null,
    });
  });
});
