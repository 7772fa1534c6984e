import { randomUUID } from 'node:crypto';
import pMap from 'p-map';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb, type Db } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';
import { silentLog } from '../../logging/log.js';
import { reconcileSchedules } from '../../services/schedules.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { testEnv } from '../helpers/env.js';
import { createNamespace, expectErrorShape, settings, startTestApi, type TestApi } from './support.js';

/**
 * Bulk pause and resume. `{"all": true}` acts on every school of the database, so this file has a
 * database and a Temporal namespace of its own: it can neither see nor touch other files' schools.
 */

let api: TestApi;
let db: Db;
let databaseUrl: string;
beforeAll(async () => {
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/pss_bulk_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  db = createDb(databaseUrl, { max: 20 });
  await migrateToLatest(db);
  const namespace = await createNamespace('api-bulk');
  api = await startTestApi({ env: { TEMPORAL_NAMESPACE: namespace, DATABASE_URL: databaseUrl }, deps: { db } });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await db?.destroy();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

/** Retried while the dev server, busy with hundreds of schedule updates, answers DEADLINE_EXCEEDED. */
const describeSchedule = (schoolId: string) =>
  vi.waitFor(() => api.client.schedule.getHandle(scheduleIdFor(schoolId)).describe(), {
    timeout: 30_000,
    interval: 500,
  });
const get = async (schoolId: string) =>
  (await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/integration` })).json();

async function createSchools(prefix: string, n: number, active = true): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  await pMap(
    ids,
    async (id) => {
      const res = await api.req({ method: 'PUT', url: `/v1/schools/${id}/integration`, payload: settings({ active }) });
      expect(res.statusCode).toBe(201);
    },
    { concurrency: 8 },
  );
  return ids;
}

describe('bulk pause and resume', () => {
  it('pauses 300 schools with a note in under 10 s, lists unknown ids, and resumes them', async () => {
    const ids = await createSchools('summer', 300);
    const unknown = ['no-such-school-1', 'no-such-school-2'];

    const started = performance.now();
    const res = await api.req({
      method: 'POST',
      url: '/v1/integrations/pause',
      payload: { schoolIds: [...ids, ...unknown], note: 'summer break' },
    });
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ paused: 300, notFound: unknown });
    expect(elapsed).toBeLessThan(10_000);

    await pMap(
      ids,
      async (id) => {
        const d = await describeSchedule(id);
        expect(d.state.paused).toBe(true);
        expect(d.state.note).toContain('summer break');
      },
      { concurrency: 16 },
    );
    const one = await get(ids[7]!);
    expect(one.active).toBe(false);
    expect(one.schedule).toMatchObject({ paused: true, nextRunAt: null, pauseNote: 'summer break' });

    // Every reconcile keeps the note: a pass finds nothing to change, and repairs a note edited away.
    await api.client.schedule
      .getHandle(scheduleIdFor(ids[3]!))
      .update((prev) => ({ ...prev, state: { paused: true, note: 'edited in the UI' } }));
    const quiet = silentLog;
    const pass = await reconcileSchedules({
      db,
      client: api.client,
      config: api.config,
      logger: quiet,
      concurrency: 16,
    });
    expect(pass).toMatchObject({ updated: 1, failed: 0, created: 0 });
    expect((await describeSchedule(ids[3]!)).state.note).toContain('summer break');

    const resumed = await api.req({
      method: 'POST',
      url: '/v1/integrations/resume',
      payload: { schoolIds: [...ids, 'no-such-school-3'] },
    });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toEqual({ resumed: 300, notFound: ['no-such-school-3'] });
    await pMap(
      ids,
      async (id) => {
        const d = await describeSchedule(id);
        expect(d.state.paused).toBe(false);
        expect(d.state.note).not.toContain('summer break');
      },
      { concurrency: 16 },
    );
    const back = await get(ids[7]!);
    expect(back.active).toBe(true);
    expect(back.schedule).toMatchObject({ paused: false, pauseNote: null });
    expect(back.schedule.nextRunAt).not.toBeNull();
  }, 120_000);

  it('all: true pauses every school; resume all wakes only those the bulk pause paused; a per-school action clears the note', async () => {
    const [a, b, c] = await createSchools('all', 3);
    // Paused on its own before the summer: stays paused through bulk resume of all.
    const own = (await createSchools('own', 1, false))[0]!;

    const paused = await api.req({
      method: 'POST',
      url: '/v1/integrations/pause',
      payload: { all: true, note: 'rollover' },
    });
    expect(paused.statusCode).toBe(200);
    expect(paused.json().notFound).toEqual([]);
    for (const id of [a!, b!, c!]) expect((await get(id)).schedule.pauseNote).toBe('rollover');
    expect((await get(own)).schedule.pauseNote).toBeNull();

    // A per-school resume clears the note and the mark.
    const single = await api.req({ method: 'POST', url: `/v1/schools/${c}/integration/resume` });
    expect(single.json().schedule).toMatchObject({ paused: false, pauseNote: null });
    expect((await describeSchedule(c!)).state.note).not.toContain('rollover');
    // A per-school pause of a bulk-paused school clears its note too.
    const ownPause = await api.req({ method: 'POST', url: `/v1/schools/${b}/integration/pause` });
    expect(ownPause.json().schedule).toMatchObject({ paused: true, pauseNote: null });
    expect((await describeSchedule(b!)).state.note).not.toContain('rollover');

    const resumed = await api.req({ method: 'POST', url: '/v1/integrations/resume', payload: { all: true } });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ notFound: [] });
    expect((await get(a!)).active).toBe(true);
    expect((await get(b!)).active).toBe(false);
    expect((await get(own)).active).toBe(false);
    expect((await describeSchedule(own)).state.paused).toBe(true);
  }, 60_000);

  it.each([
    ['/v1/integrations/pause', {}],
    ['/v1/integrations/pause', { schoolIds: ['a'], all: true }],
    ['/v1/integrations/pause', { schoolIds: [] }],
    ['/v1/integrations/pause', { schoolIds: Array.from({ length: 1001 }, (_, i) => `s${i}`) }],
    ['/v1/integrations/pause', { schoolIds: ['bad id!'] }],
    ['/v1/integrations/pause', { all: false }],
    ['/v1/integrations/pause', { all: true, note: '' }],
    ['/v1/integrations/resume', { all: true, note: 'x' }],
    ['/v1/integrations/resume', { schoolIds: ['a'], extra: 1 }],
  ])('%s refuses %j with a 400', async (url, payload) => {
    const res = await api.req({ method: 'POST', url, payload });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expectErrorShape(body);
    expect(body.error.code).toBe('VALIDATION_FAILED');
  });

  it('needs a token', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/v1/integrations/pause', payload: { all: true } });
    expect(res.statusCode).toBe(401);
  });
});
