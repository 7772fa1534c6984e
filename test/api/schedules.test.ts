import { randomBytes } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS_KEY } from '../../config.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { reconcileSchedules } from '../../services/schedules.js';
import { silentLog } from '../../logging/log.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { testEnv, uniqueSchoolId } from '../helpers/env.js';
import { spawnNode } from '../helpers/process.js';
import { waitUntilListed } from '../helpers/schedules.js';
import { createNamespace, settings, startTestApi, TOKEN, type TestApi } from './support.js';

/**
 * Schedules follow the database, and drift made behind the API's back is repaired by a reconcile
 * pass (at the API's start here; the worker's periodic passes are in schedule-reconciler.test.ts). This file runs in a Temporal namespace of its own, so reconciling "every school"
 * can neither see nor touch another test file's schedules.
 */

let api: TestApi;
let namespace: string;
beforeAll(async () => {
  namespace = await createNamespace('api-schedules');
  api = await startTestApi({ env: { TEMPORAL_NAMESPACE: namespace } });
});
afterAll(async () => api?.close());

const handle = (schoolId: string) => api.client.schedule.getHandle(scheduleIdFor(schoolId));
const exists = (schoolId: string) =>
  handle(schoolId)
    .describe()
    .then(
      () => true,
      (err) => {
        if (err instanceof ScheduleNotFoundError) return false;
        throw err;
      },
    );

async function put(schoolId: string, patch: Record<string, unknown> = {}) {
  const res = await api.req({ method: 'PUT', url: `/v1/schools/${schoolId}/integration`, payload: settings(patch) });
  expect(res.statusCode).toBe(201);
}

/** Someone edits the schedule in the UI or with the CLI: another cron, unpaused, another queue, ALLOW_ALL. */
async function tamper(schoolId: string) {
  await handle(schoolId).update((prev) => ({
    ...prev,
    spec: { cronExpressions: ['*/5 * * * *'], timezone: 'Europe/Paris' },
    action: { ...prev.action, taskQueue: 'somewhere-else' },
    policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.ALLOW_ALL },
    state: { paused: true },
  }));
}

async function createOrphan(schoolId: string) {
  await api.client.schedule.create({
    scheduleId: scheduleIdFor(schoolId),
    spec: { cronExpressions: ['0 2 * * 0'] },
    action: {
      type: 'startWorkflow',
      workflowType: 'syncStudents',
      taskQueue: 'q',
      args: [{ schoolId, trigger: 'schedule' }],
    },
    state: { paused: true },
  });
  await waitUntilListed(api.client, scheduleIdFor(schoolId));
}

async function expectInLine(schoolId: string, active: boolean) {
  const d = await handle(schoolId).describe();
  expect(d.state.paused).toBe(!active);
  expect(d.spec.timezone).toBe('UTC');
  expect(d.spec.calendars).toHaveLength(1);
  expect(d.spec.calendars?.[0]).toMatchObject({
    minute: [{ start: 0, end: 0 }],
    hour: [{ start: 2, end: 2 }],
    dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY' }],
  });
  expect(d.policies.overlap).toBe('SKIP');
  expect(d.action.taskQueue).toBe(api.config.temporal.taskQueue);
}

describe('reconcileSchedules', () => {
  it('creates missing, repairs drifted, removes orphans, and leaves healthy ones in line', async () => {
    const [missing, drifted, healthy, orphan] = [
      uniqueSchoolId(),
      uniqueSchoolId(),
      uniqueSchoolId(),
      uniqueSchoolId(),
    ];
    await put(missing, { active: true });
    await put(drifted, { active: true });
    await put(healthy);
    await createOrphan(orphan);
    await handle(missing).delete();
    await tamper(drifted);

    const result = await reconcileSchedules({ db: api.db, client: api.client, config: api.config, logger: silentLog });
    expect(result.failed).toBe(0);
    expect(result.created).toBeGreaterThanOrEqual(1);
    expect(result.deleted).toBeGreaterThanOrEqual(1);
    await expectInLine(missing, true);
    await expectInLine(drifted, true);
    await expectInLine(healthy, false);
    expect(await exists(orphan)).toBe(false);

    // A second pass finds nothing to create, update or delete among these schools.
    const mine = (s: string) => [missing, drifted, healthy, orphan].includes(s);
    const again = await reconcileSchedules({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: mine,
    });
    expect(again).toEqual({ created: 0, updated: 0, unchanged: 3, deleted: 0, failed: 0 });
  });

  it('leaves a schedule that is already in line untouched, pass after pass', async () => {
    const id = uniqueSchoolId();
    await put(id, { active: true });
    const before = await handle(id).describe();
    const pass = () =>
      reconcileSchedules({
        db: api.db,
        client: api.client,
        config: api.config,
        logger: silentLog,
        schoolFilter: (s) => s === id,
      });
    // An update inside a fire's jitter window can lose that run: a pass that finds nothing to do writes nothing.
    expect(await pass()).toEqual({ created: 0, updated: 0, unchanged: 1, deleted: 0, failed: 0 });
    expect(await pass()).toEqual({ created: 0, updated: 0, unchanged: 1, deleted: 0, failed: 0 });
    const after = await handle(id).describe();
    expect(after.info.lastUpdatedAt).toEqual(before.info.lastUpdatedAt);
    expect(Buffer.from(after.raw.conflictToken!)).toEqual(Buffer.from(before.raw.conflictToken!));
  });

  it('reads every shape of cron line as Temporal compiles it, so none is rewritten on every pass', async () => {
    const crons = [
      '0 2 * * 0',
      '*/5 * * * *',
      '30 1 * * 7',
      '0 9-17/2 * * MON-FRI',
      '15 3 1,15 * *',
      '0 0 1 JAN,jul *',
      '5/10 * * * *',
      '0 12 * * 5-7',
      '0 0 * * 1-7/2',
      '0 6 * 3-5 sun',
    ];
    const ids = crons.map(() => uniqueSchoolId());
    for (const [i, cron] of crons.entries()) await put(ids[i]!, { schedule: { cron, timezone: 'Asia/Singapore' } });
    const result = await reconcileSchedules({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: (s) => ids.includes(s),
    });
    expect(result).toEqual({ created: 0, updated: 0, unchanged: crons.length, deleted: 0, failed: 0 });
  });

  it('repairs a spec edited behind the API even when the edit kept everything else', async () => {
    const id = uniqueSchoolId();
    await put(id, { active: true });
    // Only the cron line changes: the action (and its memo) is the one we wrote.
    await handle(id).update((prev) => ({
      ...prev,
      spec: { ...prev.spec, calendars: [], cronExpressions: ['*/5 * * * *'] },
    }));
    const result = await reconcileSchedules({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: (s) => s === id,
    });
    expect(result).toMatchObject({ updated: 1, failed: 0 });
    await expectInLine(id, true);
  });

  it('a settings change the schedule missed (Temporal failed during the write) is applied by the next pass', async () => {
    const id = uniqueSchoolId();
    await put(id, { active: true });
    // The write that Temporal never saw: the row says 04:30, the schedule still says 02:00.
    await api.db.updateTable('integrations').set({ schedule_cron: '30 4 * * 0' }).where('school_id', '=', id).execute();
    const result = await reconcileSchedules({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: (s) => s === id,
    });
    expect(result).toMatchObject({ updated: 1, failed: 0 });
    const d = await handle(id).describe();
    expect(d.spec.calendars?.[0]).toMatchObject({ minute: [{ start: 30, end: 30 }], hour: [{ start: 4, end: 4 }] });
  });

  it('a paused/unpaused state flipped behind the API is flipped back', async () => {
    const id = uniqueSchoolId();
    await put(id);
    await handle(id).unpause('someone clicked resume in the UI');
    expect((await handle(id).describe()).state.paused).toBe(false);
    await reconcileSchedules({
      db: api.db,
      client: api.client,
      config: api.config,
      logger: silentLog,
      schoolFilter: (s) => s === id,
    });
    expect((await handle(id).describe()).state.paused).toBe(true);
  });
});

describe('npm run api (api/main.ts)', () => {
  it('at start: re-seals old-key secrets, reconciles schedules, serves, and exits 0 on SIGTERM', async () => {
    const [missing, drifted, orphan, rotated] = [
      uniqueSchoolId(),
      uniqueSchoolId(),
      uniqueSchoolId(),
      uniqueSchoolId(),
    ];
    await put(missing, { active: true });
    await put(drifted);
    await createOrphan(orphan);
    await handle(missing).delete();
    await tamper(drifted);

    // A secret sealed with the key used before a rotation: SECRETS_KEY_PREVIOUS still opens it.
    const oldKey = randomBytes(32);
    await put(rotated);
    const oldBox = new SecretBox([oldKey]);
    const sealed = oldBox.seal('rotated-secret', rotated);
    await api.db
      .updateTable('integrations')
      .set({ client_secret_encrypted: sealed.ciphertext, client_secret_key_id: sealed.keyId })
      .where('school_id', '=', rotated)
      .execute();

    const child = spawnNode('api/main.ts', {
      label: 'API',
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: testEnv.databaseUrl,
        TEMPORAL_ADDRESS: testEnv.temporalAddress,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: api.config.temporal.taskQueue,
        API_TOKENS: TOKEN,
        // The current key is the one every other test uses, so re-sealing cannot disturb them.
        SECRETS_KEY: TEST_SECRETS_KEY,
        SECRETS_KEY_PREVIOUS: oldKey.toString('base64'),
      },
    });
    try {
      // It listens first, then reconciles in the background: wait for both.
      await child.waitForOutput('"msg":"schedules reconciled"', 45_000);
      const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(child.output())?.[1];
      if (!address) throw new Error(`API did not say where it listens:\n${child.output()}`);

      await expectInLine(missing, true);
      await expectInLine(drifted, false);
      expect(await exists(orphan)).toBe(false);

      const row = await api.db
        .selectFrom('integrations')
        .selectAll()
        .where('school_id', '=', rotated)
        .executeTakeFirstOrThrow();
      const current = new SecretBox(api.config.secretsKeys);
      expect(row.client_secret_key_id).toBe(current.currentKeyId);
      expect(current.open({ ciphertext: row.client_secret_encrypted, keyId: row.client_secret_key_id }, rotated)).toBe(
        'rotated-secret',
      );

      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      const unauth = await fetch(`${address}/v1/schools/${missing}/integration`);
      expect(unauth.status).toBe(401);
      const ok = await fetch(`${address}/v1/schools/${missing}/integration`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit')).toBe('1200');
    } finally {
      if (child.running()) expect((await child.stop()).code, child.output()).toBe(0);
    }
  });
});
