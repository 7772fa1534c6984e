import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getIntegration, putIntegration, type IntegrationSettings } from '../../db/queries/integrations.js';
import type { Integration } from '../../db/types.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { reconcileSchedulesExclusively, startScheduleReconciler } from '../../services/schedule-reconciler.js';
import { alignSchedule } from '../../services/schedules.js';
import { silentLog } from '../../logging/log.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { freshDatabase, testDb } from '../helpers/db.js';
import { testEnv, uniqueSchoolId } from '../helpers/env.js';
import type { NodeChild } from '../helpers/process.js';
import { waitUntilListed } from '../helpers/schedules.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { createNamespace, settings, startTestApi, type TestApi } from './support.js';

/**
 * The schedule reconcile that runs on its own: every SCHEDULE_RECONCILE_INTERVAL in the worker, one
 * pass at a time across processes, and safe against API writes racing it. Real Temporal (a
 * namespace of this file's own) and real PostgreSQL.
 */

let api: TestApi;
let namespace: string;
beforeAll(async () => {
  namespace = await createNamespace('api-reconciler');
  api = await startTestApi({ env: { TEMPORAL_NAMESPACE: namespace } });
});
afterAll(async () => api?.close());

const handleOf = (client: Client, schoolId: string) => client.schedule.getHandle(scheduleIdFor(schoolId));
const exists = (client: Client, schoolId: string) =>
  handleOf(client, schoolId)
    .describe()
    .then(
      () => true,
      (err) => {
        if (err instanceof ScheduleNotFoundError) return false;
        throw err;
      },
    );
/** The hours the schedule fires at, as Temporal compiled them. */
const hoursOf = async (client: Client, schoolId: string) =>
  (await handleOf(client, schoolId).describe()).spec.calendars?.map((c) => c.hour);

async function put(schoolId: string, patch: Record<string, unknown> = {}, expected = [200, 201]) {
  const res = await api.req({ method: 'PUT', url: `/v1/schools/${schoolId}/integration`, payload: settings(patch) });
  expect(expected).toContain(res.statusCode);
}

async function createOrphan(client: Client, schoolId: string) {
  await client.schedule.create({
    scheduleId: scheduleIdFor(schoolId),
    spec: { cronExpressions: ['0 2 * * 0'] },
    action: { type: 'startWorkflow', workflowType: 'syncStudents', taskQueue: 'q', args: [{ schoolId }] },
    state: { paused: true },
  });
  await waitUntilListed(client, scheduleIdFor(schoolId));
}

/**
 * The same client, except that `before(method)` runs (and is awaited) before each schedule call:
 * describe, update, delete on a handle, and create. Lets a test act in the middle of a Temporal call.
 */
function hookedClient(client: Client, before: (method: string) => Promise<void>): Client {
  const hooked = (name: string, fn: (...args: never[]) => Promise<unknown>) => {
    return async (...args: never[]) => {
      await before(name);
      return fn(...args);
    };
  };
  const schedule = new Proxy(client.schedule, {
    get(target, prop) {
      if (prop === 'create') return hooked('create', target.create.bind(target));
      if (prop === 'getHandle') {
        return (id: string) => {
          const handle = target.getHandle(id);
          return new Proxy(handle, {
            get(h, p) {
              const value = Reflect.get(h, p, h) as unknown;
              if (p === 'describe' || p === 'update' || p === 'delete') {
                return hooked(p, (value as (...a: never[]) => Promise<unknown>).bind(h));
              }
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(h) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'schedule') return schedule;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('the settings version', () => {
  it('moves on every settings write, never repeats after a delete, and stays put on a no-op', async () => {
    const id = uniqueSchoolId();
    const version = async () => BigInt((await getIntegration(api.db, id))!.settings_version);
    await put(id);
    const created = await version();
    await put(id, { testRun: false });
    const replaced = await version();
    expect(replaced).toBeGreaterThan(created);
    expect((await api.req({ method: 'POST', url: `/v1/schools/${id}/integration/resume` })).statusCode).toBe(200);
    const resumed = await version();
    expect(resumed).toBeGreaterThan(replaced);
    // Resuming what is already active writes nothing.
    expect((await api.req({ method: 'POST', url: `/v1/schools/${id}/integration/resume` })).statusCode).toBe(200);
    expect(await version()).toBe(resumed);
    // A school deleted and created again gets a version no writer of the old one can hold.
    expect((await api.req({ method: 'DELETE', url: `/v1/schools/${id}/integration` })).statusCode).toBe(204);
    await put(id);
    expect(await version()).toBeGreaterThan(resumed);
  });
});

describe('alignSchedule against concurrent writers', () => {
  it('never leaves the older settings on the schedule when another write lands during its Temporal call', async () => {
    const id = uniqueSchoolId();
    await put(id, { schedule: { cron: '0 1 * * 0', timezone: 'UTC' } });
    // A settings write whose Temporal call never happened (Temporal failed): the row says 03:00,
    // the schedule still 01:00.
    const row = (await getIntegration(api.db, id))!;
    await putIntegration(api.db, id, { ...settingsOf(row), scheduleCron: '0 3 * * 0' }, undefined);

    // A reconcile now applies 03:00; while its update is on its way to Temporal, a PUT sets 05:00
    // and aligns the schedule first. The reconcile's 03:00 lands last, on top of 05:00.
    let raced = false;
    const slow = hookedClient(api.client, async (method) => {
      if (method !== 'update' || raced) return;
      raced = true;
      await put(id, { schedule: { cron: '0 5 * * 0', timezone: 'UTC' } });
      expect(await hoursOf(api.client, id)).toEqual([[{ start: 5, end: 5, step: 1 }]]);
    });
    const result = await alignSchedule({ db: api.db, client: slow, config: api.config }, id);
    expect(raced).toBe(true);
    expect(result.outcome).toBe('updated');
    // It saw the settings move after its call and applied them again: the newer settings win.
    expect(await hoursOf(api.client, id)).toEqual([[{ start: 5, end: 5, step: 1 }]]);
  });

  it('holds no pooled connection while it waits on Temporal', async () => {
    const id = uniqueSchoolId();
    await put(id);
    await handleOf(api.client, id).delete();
    // A pool of one connection: if the alignment kept it across its Temporal call, nothing else
    // could query until Temporal answered.
    const db = testDb({ max: 1 });
    const inCall = deferred();
    const release = deferred();
    const stuck = hookedClient(api.client, async () => {
      inCall.resolve();
      await release.promise;
    });
    try {
      const aligning = alignSchedule({ db, client: stuck, config: api.config }, id);
      await inCall.promise;
      const bounded = await Promise.race([
        getIntegration(db, id).then(() => 'answered' as const),
        new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 5_000)),
      ]);
      release.resolve();
      expect(bounded).toBe('answered');
      expect((await aligning).outcome).toBe('created');
    } finally {
      release.resolve();
      await db.destroy();
    }
  });
});

describe('reconcileSchedulesExclusively', () => {
  it('two reconcilers at once: one acts, the other skips its turn; the lock is free afterwards', async () => {
    const ids = [uniqueSchoolId(), uniqueSchoolId(), uniqueSchoolId()];
    for (const id of ids) await put(id);
    for (const id of ids) await handleOf(api.client, id).delete();
    const mine = (s: string) => ids.includes(s);

    // The first to take the lock waits, inside its pass, until the other has tried.
    const otherTried = deferred();
    const waiting = hookedClient(api.client, () => otherTried.promise);
    const a = reconcileSchedulesExclusively({
      db: api.db,
      client: waiting,
      config: api.config,
      logger: silentLog,
      schoolFilter: mine,
    });
    const b = reconcileSchedulesExclusively({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: mine,
    }).finally(() => otherTried.resolve());
    const results = await Promise.all([a, b]);

    expect(results.filter((r) => r === 'skipped')).toHaveLength(1);
    const acted = results.find((r) => r !== 'skipped') as { created: number };
    expect(acted.created).toBe(3);
    for (const id of ids) expect(await exists(api.client, id)).toBe(true);

    const after = await reconcileSchedulesExclusively({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: mine,
    });
    expect(after).toMatchObject({ created: 0, updated: 0, unchanged: 3, deleted: 0, failed: 0 });
  });
});

describe('startScheduleReconciler', () => {
  it('repairs, within one interval, a schedule left wrong by a write during which Temporal failed', async () => {
    const id = uniqueSchoolId();
    await put(id, { active: true, schedule: { cron: '0 1 * * 0', timezone: 'UTC' } });

    // An API whose every Temporal call fails (here: a namespace Temporal does not know): the write
    // stands (2xx), the schedule stays at 01:00.
    const failing = new Client({ connection: api.client.connection, namespace: `missing-${randomUUID()}` });
    const broken = await startTestApi({ env: { TEMPORAL_NAMESPACE: namespace }, deps: { temporalClient: failing } });
    try {
      const res = await broken.req({
        method: 'PUT',
        url: `/v1/schools/${id}/integration`,
        payload: settings({ active: true, schedule: { cron: '0 4 * * 0', timezone: 'UTC' } }),
      });
      expect(res.statusCode).toBe(200);
      expect(broken.logs.text()).toContain('schedule update failed');
    } finally {
      await broken.close();
    }
    expect(await hoursOf(api.client, id)).toEqual([[{ start: 1, end: 1, step: 1 }]]);

    const intervalMs = 1_000;
    const reconciler = startScheduleReconciler({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      intervalMs,
      schoolFilter: (s) => s === id,
    });
    try {
      await vi.waitFor(async () => expect(await hoursOf(api.client, id)).toEqual([[{ start: 4, end: 4, step: 1 }]]), {
        timeout: 10_000,
        interval: 100,
      });
      // And again after someone deletes it: back within one interval.
      await handleOf(api.client, id).delete();
      await vi.waitFor(async () => expect(await exists(api.client, id)).toBe(true), {
        timeout: intervalMs + 10_000,
        interval: 100,
      });
    } finally {
      await reconciler.stop();
    }
  });
});

describe('npm run worker (worker/main.ts): the periodic reconcile', () => {
  it('puts back a schedule deleted behind the API’s back and removes an orphan, while it runs', async () => {
    // A database and namespace of this test's own: the worker reconciles every integration it sees.
    const { url: databaseUrl, db, drop } = await freshDatabase('reconcile', { max: 2 });
    const ns = await createNamespace('worker-reconcile');
    const client = new Client({
      connection: await Connection.connect({ address: testEnv.temporalAddress }),
      namespace: ns,
    });
    let child: NodeChild | undefined;
    try {
      const id = uniqueSchoolId();
      const sealed = new SecretBox(api.config.secretsKeys).seal('a-secret-value', id);
      // Inactive: its schedule is paused, so nothing fires while the test runs.
      await putIntegration(db, id, { ...DEFAULT_SETTINGS, active: false }, sealed);

      const intervalMs = 1_500;
      child = await startWorkerProcess({
        databaseUrl,
        taskQueue: `reconcile-${randomUUID()}`,
        env: {
          LOG_LEVEL: 'info',
          TEMPORAL_NAMESPACE: ns,
          WORKFLOW_BUNDLE_PATH: testEnv.workflowBundlePath,
          SCHEDULE_RECONCILE_INTERVAL: String(intervalMs),
        },
      });
      // Its first pass creates the missing schedule.
      await vi.waitFor(async () => expect(await exists(client, id)).toBe(true), {
        timeout: intervalMs + 10_000,
        interval: 100,
      });
      expect((await handleOf(client, id).describe()).state.paused).toBe(true);

      await handleOf(client, id).delete();
      await vi.waitFor(async () => expect(await exists(client, id)).toBe(true), {
        timeout: intervalMs + 10_000,
        interval: 100,
      });
      expect((await handleOf(client, id).describe()).state.paused).toBe(true);

      const orphan = uniqueSchoolId();
      await createOrphan(client, orphan);
      await vi.waitFor(async () => expect(await exists(client, orphan)).toBe(false), {
        timeout: intervalMs + 10_000,
        interval: 100,
      });

      expect((await child.stop()).code, child.output()).toBe(0);
    } finally {
      await child?.kill();
      await client.connection.close();
      await drop();
    }
  });
});

const DEFAULT_SETTINGS: IntegrationSettings = {
  serverUrl: 'https://district.powerschool.com',
  clientId: 'client-1',
  active: true,
  testRun: true,
  notificationsEnabled: false,
  notificationRecipients: [],
  gradeFrom: 9,
  gradeTo: 12,
  mappingPowerschoolId: 'DCID',
  mappingDateOfBirth: true,
  mappingGender: true,
  scheduleCron: '0 2 * * 0',
  scheduleTimezone: 'UTC',
};

function settingsOf(row: Integration): IntegrationSettings {
  return {
    serverUrl: row.server_url,
    clientId: row.client_id,
    active: row.active,
    testRun: row.test_run,
    notificationsEnabled: row.notifications_enabled,
    notificationRecipients: row.notification_recipients,
    gradeFrom: row.grade_from,
    gradeTo: row.grade_to,
    mappingPowerschoolId: row.mapping_powerschool_id,
    mappingDateOfBirth: row.mapping_date_of_birth,
    mappingGender: row.mapping_gender,
    scheduleCron: row.schedule_cron,
    scheduleTimezone: row.schedule_timezone,
  };
}
