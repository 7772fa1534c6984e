import type { Client } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createLogger } from '../../logging/logger.js';
import { PowerSchoolError } from '../../powerschool/errors.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { expectErrorShape, LogCapture, SECOND_TOKEN, settings, startTestApi, type TestApi } from './support.js';

const SECRET = 'very-secret-value-42';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

const url = (schoolId: string, rest = '') => `/v1/schools/${schoolId}/integration${rest}`;

async function describeSchedule(schoolId: string) {
  return api.client.schedule.getHandle(scheduleIdFor(schoolId)).describe();
}

describe('PUT /integration', () => {
  it('creates with defaults (201), replaces (200), and keeps the secret when it is omitted', async () => {
    const id = uniqueSchoolId();
    const created = await api.req({ method: 'PUT', url: url(id), payload: settings() });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toEqual({
      schoolId: id,
      powerschool: {
        serverUrl: 'https://district.powerschool.com',
        clientId: 'client-1',
        clientSecretSet: true,
        schools: [],
      },
      active: false,
      testRun: true,
      notifications: { enabled: false, recipients: [] },
      grades: { from: 9, to: 12 },
      mapping: { powerschoolId: 'DCID', dateOfBirth: false, gender: false, gradeLevel: false },
      matching: { enabled: true },
      schedule: {
        cron: '0 2 * * 0',
        timezone: 'UTC',
        paused: true,
        nextRunAt: null,
        lastDueAt: null,
        lastDueRunId: null,
        pauseNote: null,
      },
      blackouts: [],
      safety: { enabled: true, maxDepartedPercent: 10, maxUpdatedPercent: 75, minStudents: 20, holdDays: 7 },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastRun: null,
    });
    const before = await api.db
      .selectFrom('integrations')
      .select(['client_secret_encrypted', 'client_secret_key_id'])
      .where('school_id', '=', id)
      .executeTakeFirstOrThrow();

    const replaced = await api.req({
      method: 'PUT',
      url: url(id),
      payload: {
        // Same host and client, spelled differently: the stored secret may stay.
        powerschool: { serverUrl: 'HTTPS://District.PowerSchool.com:443/', clientId: 'client-1' },
        active: true,
        testRun: false,
        notifications: { enabled: true, recipients: ['counselor@school.org'] },
        grades: { from: -2, to: 0 },
        mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true },
        schedule: { cron: '30 3 * * 1', timezone: 'Asia/Singapore' },
      },
    });
    expect(replaced.statusCode).toBe(200);
    const r = replaced.json();
    expect(r).toMatchObject({
      powerschool: { serverUrl: 'https://district.powerschool.com', clientId: 'client-1', clientSecretSet: true },
      active: true,
      testRun: false,
      notifications: { enabled: true, recipients: ['counselor@school.org'] },
      grades: { from: -2, to: 0 },
      mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: false },
      schedule: { cron: '30 3 * * 1', timezone: 'Asia/Singapore', paused: false },
      createdAt: body.createdAt,
    });
    // nextRunAt comes from Temporal: Monday 03:30 in Singapore is Sunday 19:30 UTC (+ up to 10 min jitter).
    const next = new Date(r.schedule.nextRunAt);
    expect(next.getUTCDay()).toBe(0);
    expect(next.getUTCHours()).toBe(19);
    expect(next.getUTCMinutes()).toBeGreaterThanOrEqual(30);
    const after = await api.db
      .selectFrom('integrations')
      .select(['client_secret_encrypted', 'client_secret_key_id'])
      .where('school_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(after).toEqual(before);
  });

  it('refuses to move a stored secret: a new serverUrl or clientId needs clientSecret in the same request', async () => {
    const id = uniqueSchoolId();
    expect((await api.req({ method: 'PUT', url: url(id), payload: settings() })).statusCode).toBe(201);
    const stored = () =>
      api.db
        .selectFrom('integrations')
        .select(['server_url', 'client_id', 'client_secret_encrypted'])
        .where('school_id', '=', id)
        .executeTakeFirstOrThrow();
    const before = await stored();
    for (const powerschool of [
      { serverUrl: 'https://attacker.example.com', clientId: 'client-1' },
      { serverUrl: 'https://district.powerschool.com', clientId: 'client-2' },
      { serverUrl: 'https://district.powerschool.com:8443', clientId: 'client-1' },
    ]) {
      const res = await api.req({ method: 'PUT', url: url(id), payload: settings({ powerschool }) });
      expect(res.statusCode, JSON.stringify(powerschool)).toBe(400);
      const body = res.json();
      expectErrorShape(body);
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.details?.[0]).toEqual({ path: 'powerschool.clientSecret', message: expect.any(String) });
    }
    expect(await stored()).toEqual(before);
    // With a new secret in the same request the move is fine.
    const moved = await api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({
        powerschool: { serverUrl: 'https://other.powerschool.com', clientId: 'client-2', clientSecret: 'new-secret' },
      }),
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().powerschool).toEqual({
      serverUrl: 'https://other.powerschool.com',
      clientId: 'client-2',
      clientSecretSet: true,
      schools: [],
    });
    const after = await stored();
    expect(after.client_secret_encrypted).not.toBe(before.client_secret_encrypted);
    expect(api.logs.text()).not.toContain('new-secret');
  });

  it('requires the client secret on create', async () => {
    const id = uniqueSchoolId();
    const res = await api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({ powerschool: { serverUrl: 'https://a.powerschool.com', clientId: 'c' } }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'powerschool.clientSecret', message: expect.any(String) }],
    });
    expect((await api.req({ method: 'GET', url: url(id) })).statusCode).toBe(404);
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['missing grades', { grades: undefined }, 'grades'],
    ['grade out of range', { grades: { from: -3, to: 12 } }, 'grades.from'],
    ['non-integer grade', { grades: { from: 9.5, to: 12 } }, 'grades.from'],
    ['from > to', { grades: { from: 12, to: 9 } }, 'grades.to'],
    ['unknown top-level key', { extra: 1 }, 'extra'],
    [
      'unknown nested key',
      { powerschool: { serverUrl: 'https://a.b', clientId: 'c', clientSecret: 's', port: 1 } },
      'powerschool.port',
    ],
    [
      'recipients required when enabled',
      { notifications: { enabled: true, recipients: [] } },
      'notifications.recipients',
    ],
    ['invalid email', { notifications: { enabled: true, recipients: ['nope'] } }, 'notifications.recipients.0'],
    [
      'more than 20 recipients',
      { notifications: { enabled: true, recipients: Array.from({ length: 21 }, (_, i) => `r${i}@x.org`) } },
      'notifications.recipients',
    ],
    ['bad mapping', { mapping: { powerschoolId: 'ID' } }, 'mapping.powerschoolId'],
    ['cron with 6 fields', { schedule: { cron: '0 0 2 * * 0', timezone: 'UTC' } }, 'schedule.cron'],
    ['cron out of range', { schedule: { cron: '61 2 * * 0' } }, 'schedule.cron'],
    ['unknown time zone', { schedule: { timezone: 'Mars/Olympus' } }, 'schedule.timezone'],
    ['offset is not IANA', { schedule: { timezone: '+08:00' } }, 'schedule.timezone'],
    ['active not boolean', { active: 'yes' }, 'active'],
    ['safety percent over 100', { safety: { maxDepartedPercent: 100.5 } }, 'safety.maxDepartedPercent'],
    ['safety percent below 0', { safety: { maxUpdatedPercent: -1 } }, 'safety.maxUpdatedPercent'],
    ['safety minStudents over 100000', { safety: { minStudents: 100001 } }, 'safety.minStudents'],
    ['safety holdDays 0', { safety: { holdDays: 0 } }, 'safety.holdDays'],
    ['safety holdDays 31', { safety: { holdDays: 31 } }, 'safety.holdDays'],
    ['safety holdDays not an integer', { safety: { holdDays: 1.5 } }, 'safety.holdDays'],
    ['safety unknown key', { safety: { dayMs: 1000 } }, 'safety.dayMs'],
  ];
  it('stores the safety thresholds, fills the rest with defaults and echoes them', async () => {
    const id = uniqueSchoolId();
    const res = await api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({ safety: { maxUpdatedPercent: 50.5, holdDays: 30, minStudents: 0 } }),
    });
    expect(res.statusCode).toBe(201);
    const safety = { enabled: true, maxDepartedPercent: 10, maxUpdatedPercent: 50.5, minStudents: 0, holdDays: 30 };
    expect(res.json().safety).toEqual(safety);
    expect((await api.req({ method: 'GET', url: url(id) })).json().safety).toEqual(safety);
    // A replace without `safety` puts the defaults back, as for every other optional key.
    const replaced = await api.req({ method: 'PUT', url: url(id), payload: settings() });
    expect(replaced.json().safety).toEqual({ ...safety, maxUpdatedPercent: 75, minStudents: 20, holdDays: 7 });
  });

  it.each(invalid)('400 VALIDATION_FAILED: %s', async (_name, patch, path) => {
    const res = await api.req({ method: 'PUT', url: url(uniqueSchoolId()), payload: settings(patch) });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expectErrorShape(body);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details).toContainEqual({ path, message: expect.any(String) });
  });

  const badUrls = [
    'http://district.powerschool.com',
    'ftp://district.powerschool.com',
    'https://district.powerschool.com/ws',
    'https://district.powerschool.com/?',
    'https://district.powerschool.com/?a=1',
    'https://district.powerschool.com/#x',
    'https://user:pw@district.powerschool.com',
    'https://localhost',
    'https://api.localhost:8443',
    'https://127.0.0.1',
    'https://127.1',
    'https://0x7f.0.0.1',
    'https://10.1.2.3',
    'https://172.16.0.1',
    'https://192.168.1.1',
    'https://169.254.169.254',
    'https://[::1]',
    'https://[::ffff:127.0.0.1]',
    'https://[fe80::1]',
    'https://[fd00::1]',
    'https://0.0.0.0',
    // IPv4 inside IPv6, as the URL parser prints it (hex), and prefixes that tunnel to IPv4.
    'https://[::7f00:1]',
    'https://[::127.0.0.1]',
    'https://[::ffff:a00:1]',
    'https://[::ffff:0:a9fe:a9fe]',
    'https://[64:ff9b::a00:1]',
    'https://[64:ff9b:1::808:808]',
    'https://[2002:808:808::1]',
    'https://[100::1]',
    'https://metadata.google.internal',
    'district.powerschool.com',
  ];
  it.each(badUrls)('refuses serverUrl %s', async (serverUrl) => {
    const res = await api.req({
      method: 'PUT',
      url: url(uniqueSchoolId()),
      payload: settings({ powerschool: { serverUrl, clientId: 'c', clientSecret: 's' } }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: 'powerschool.serverUrl', message: expect.any(String) }]);
  });

  it('even with ALLOW_INSECURE_POWERSCHOOL, link-local and cloud metadata addresses are refused', async () => {
    const insecure = await startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true' } });
    try {
      const put = (serverUrl: string) =>
        insecure.req({
          method: 'PUT',
          url: url(uniqueSchoolId()),
          payload: settings({ powerschool: { serverUrl, clientId: 'c', clientSecret: 's' } }),
        });
      for (const serverUrl of [
        'http://169.254.169.254',
        'http://169.254.1.1:8080',
        'http://[fe80::1]',
        'http://[fd00:ec2::254]',
        'http://[::ffff:169.254.169.254]',
        'http://100.100.100.200',
        'http://metadata.google.internal',
        'http://metadata',
      ]) {
        const res = await put(serverUrl);
        expect(res.statusCode, serverUrl).toBe(400);
        expect(res.json().error.details).toEqual([{ path: 'powerschool.serverUrl', message: expect.any(String) }]);
      }
      for (const serverUrl of ['http://127.0.0.1:7070', 'http://localhost:7070', 'http://10.0.0.5'])
        expect((await put(serverUrl)).statusCode, serverUrl).toBe(201);
    } finally {
      await insecure.close();
    }
  });

  it('accepts an https origin with a port, and stores the normalised origin', async () => {
    const id = uniqueSchoolId();
    const res = await api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({
        powerschool: { serverUrl: 'HTTPS://District.PowerSchool.com:8443/', clientId: 'c', clientSecret: 's' },
      }),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().powerschool.serverUrl).toBe('https://district.powerschool.com:8443');
  });

  it('400 on an invalid school id', async () => {
    const res = await api.req({ method: 'PUT', url: url('bad.id'), payload: settings() });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: 'schoolId', message: expect.any(String) }]);
    const long = await api.req({ method: 'GET', url: url('a'.repeat(65)) });
    expect(long.statusCode).toBe(400);
  });
});

describe('GET, DELETE, pause, resume', () => {
  it('404 NOT_FOUND for a school without an integration, on every integration route', async () => {
    const id = uniqueSchoolId();
    for (const [method, rest] of [
      ['GET', ''],
      ['DELETE', ''],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/test-connection'],
    ] as const) {
      const res = await api.req({ method, url: url(id, rest) });
      expect(res.statusCode, `${method} ${rest}`).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
  });

  it('the schedule follows the database: create, replace, pause, resume, delete', async () => {
    const id = uniqueSchoolId();
    await api.req({ method: 'PUT', url: url(id), payload: settings() });
    let d = await describeSchedule(id);
    expect(d.state.paused).toBe(true);
    expect(d.spec.timezone).toBe('UTC');
    expect(d.spec.jitter).toBe(600_000);
    expect(d.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 2, end: 2 }],
      dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY' }],
    });
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.action).toMatchObject({
      workflowType: 'syncStudents',
      workflowId: scheduleIdFor(id),
      taskQueue: api.config.temporal.taskQueue,
      args: [{ schoolId: id, trigger: 'schedule' }],
    });
    expect(
      (d.action.typedSearchAttributes as TypedSearchAttributes).getAll().map((p) => [p.key.name, p.value]),
    ).toEqual(
      expect.arrayContaining([
        ['SchoolId', id],
        ['SyncTrigger', 'schedule'],
      ]),
    );

    await api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({ active: true, schedule: { cron: '15 4 * * 3', timezone: 'America/New_York' } }),
    });
    d = await describeSchedule(id);
    expect(d.state.paused).toBe(false);
    expect(d.spec.timezone).toBe('America/New_York');
    expect(d.spec.calendars?.[0]).toMatchObject({
      minute: [{ start: 15 }],
      hour: [{ start: 4 }],
      dayOfWeek: [{ start: 'WEDNESDAY' }],
    });

    for (let i = 0; i < 2; i++) {
      const paused = await api.req({ method: 'POST', url: url(id, '/pause') });
      expect(paused.statusCode).toBe(200);
      expect(paused.json()).toMatchObject({ active: false, schedule: { paused: true, nextRunAt: null } });
      expect((await describeSchedule(id)).state.paused).toBe(true);
    }
    const pausedAt = (await api.req({ method: 'GET', url: url(id) })).json().updatedAt;
    for (let i = 0; i < 2; i++) {
      const resumed = await api.req({ method: 'POST', url: url(id, '/resume'), payload: {} });
      expect(resumed.statusCode).toBe(200);
      expect(resumed.json()).toMatchObject({ active: true, schedule: { paused: false } });
      expect(resumed.json().schedule.nextRunAt).toEqual(expect.any(String));
      expect(resumed.json().updatedAt > pausedAt).toBe(true);
      expect((await describeSchedule(id)).state.paused).toBe(false);
    }

    const del = await api.req({ method: 'DELETE', url: url(id) });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    await expect(describeSchedule(id)).rejects.toThrow(/not found/i);
    expect((await api.req({ method: 'GET', url: url(id) })).statusCode).toBe(404);
    expect((await api.req({ method: 'DELETE', url: url(id) })).statusCode).toBe(404);
    // Run history and students stay readable.
    expect((await api.req({ method: 'GET', url: `/v1/schools/${id}/runs` })).statusCode).toBe(200);
    expect((await api.req({ method: 'GET', url: `/v1/schools/${id}/students` })).statusCode).toBe(200);
  });

  it('pause/resume refuse a body with unknown keys', async () => {
    const id = uniqueSchoolId();
    await api.req({ method: 'PUT', url: url(id), payload: settings() });
    const res = await api.req({ method: 'POST', url: url(id, '/pause'), payload: { now: true } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: 'now', message: expect.any(String) }]);
  });

  it('the DB write stands when Temporal fails, and the response still answers', async () => {
    const id = uniqueSchoolId();
    const unavailable = async () => {
      throw new Error('14 UNAVAILABLE: connection refused');
    };
    // A Temporal client whose every call fails at once, like a server that is down.
    const dead = {
      connection: { withDeadline: (_d: number, fn: () => Promise<unknown>) => fn() },
      schedule: {
        getHandle: () => ({ update: unavailable, describe: unavailable, delete: unavailable }),
        create: unavailable,
      },
      workflowService: { getSystemInfo: unavailable },
    } as unknown as Client;
    const logs = new LogCapture();
    const app = await buildApp({
      config: api.config,
      db: api.db,
      temporalClient: dead,
      logger: createLogger(api.config, logs),
      rateLimit: false,
    });
    try {
      const res = await app.inject({
        method: 'PUT',
        url: url(id),
        headers: { authorization: `Bearer ${SECOND_TOKEN}` },
        payload: settings({ active: true }),
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().schedule).toMatchObject({ paused: false, nextRunAt: null });
      expect(logs.text()).toMatch(/next reconcile will repair the schedule/);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ ok: false, checks: { database: 'ok', temporal: 'failing' } });
      expect(ready.json().error.message).toMatch(/temporal/);
    } finally {
      await app.close();
    }
    expect((await api.req({ method: 'GET', url: url(id) })).json().active).toBe(true);
  });
});

describe('the client secret', () => {
  it('is sealed in the table (bound to the school), never in a response or a log line', async () => {
    const id = uniqueSchoolId();
    const secret = `${SECRET}-${id}`;
    const responses: string[] = [];
    const put = await api.req({
      method: 'PUT',
      url: url(id),
      payload: settings({
        powerschool: { serverUrl: 'https://a.powerschool.com', clientId: 'c', clientSecret: secret },
      }),
    });
    responses.push(put.body);
    for (const [method, rest] of [
      ['GET', ''],
      ['POST', '/resume'],
      ['POST', '/pause'],
      ['POST', '/test-connection'],
    ] as const) {
      responses.push((await api.req({ method, url: url(id, rest) })).body);
    }
    // A validation failure on a body holding the secret must not echo it either.
    responses.push(
      (
        await api.req({
          method: 'PUT',
          url: url(id),
          payload: settings({
            powerschool: { serverUrl: 'http://x', clientId: 'c', clientSecret: secret },
            extra: secret,
          }),
        })
      ).body,
    );
    for (const body of responses) expect(body).not.toContain(secret);
    expect(api.logs.lines.length).toBeGreaterThan(0);
    expect(api.logs.text()).not.toContain(secret);
    expect(api.logs.text()).not.toContain('api-test-token');

    const row = await api.db
      .selectFrom('integrations')
      .selectAll()
      .where('school_id', '=', id)
      .executeTakeFirstOrThrow();
    const rowText = JSON.stringify(row);
    expect(rowText).not.toContain(secret);
    expect(rowText).not.toContain(Buffer.from(secret).toString('base64'));
    const box = new SecretBox(api.config.secretsKeys);
    expect(row.client_secret_key_id).toBe(box.currentKeyId);
    const sealed = { ciphertext: row.client_secret_encrypted, keyId: row.client_secret_key_id };
    expect(box.open(sealed, id)).toBe(secret);
    expect(() => box.open(sealed, 'another-school')).toThrow();
  });
});

describe('concurrency and key rotation', () => {
  it('concurrent PUTs creating one school: exactly one 201, the rest 200, one schedule in line', async () => {
    const id = uniqueSchoolId();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.req({ method: 'PUT', url: url(id), payload: settings({ active: i % 2 === 0, testRun: true }) }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const final = (await api.req({ method: 'GET', url: url(id) })).json();
    expect((await describeSchedule(id)).state.paused).toBe(!final.active);
  });

  it('a secret sealed with a previous key still opens when that key is listed in SECRETS_KEY_PREVIOUS', async () => {
    const id = uniqueSchoolId();
    await api.req({ method: 'PUT', url: url(id), payload: settings() }); // sealed with the dev key
    const received: string[] = [];
    const probe = {
      countStudentsInScope: async ({ clientSecret }: { clientSecret: string }) => {
        received.push(clientSecret);
        return 7;
      },
    };
    const newKey = Buffer.alloc(32, 9).toString('base64');
    const rotated = await startTestApi({
      env: { SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: api.config.secretsKeys[0]!.toString('base64') },
      deps: { powerSchool: probe },
    });
    const withoutOld = await startTestApi({ env: { SECRETS_KEY: newKey }, deps: { powerSchool: probe } });
    try {
      const ok = await rotated.req({ method: 'POST', url: url(id, '/test-connection') });
      expect(ok.json()).toEqual({ ok: true, studentsInScope: 7 });
      expect(received).toEqual(['very-secret-value-42']);
      // Without the old key the secret cannot be opened: a server-side problem, answered 500 without detail.
      const broken = await withoutOld.req({ method: 'POST', url: url(id, '/test-connection') });
      expect(broken.statusCode).toBe(500);
      expect(broken.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
    } finally {
      await rotated.close();
      await withoutOld.close();
    }
  });
});

describe('POST /integration/test-connection', () => {
  let sim: Simulator;
  let insecure: TestApi;
  beforeAll(async () => {
    sim = await startSimulator({ students: 120, seed: 5 });
    insecure = await startTestApi({ env: { ALLOW_INSECURE_POWERSCHOOL: 'true' } });
  });
  afterAll(async () => {
    await insecure?.close();
    await sim?.close();
  });

  const put = async (id: string, clientSecret: string, serverUrl = sim.url) =>
    insecure.req({
      method: 'PUT',
      url: url(id),
      payload: settings({
        powerschool: { serverUrl, clientId: sim.clientId, clientSecret },
        grades: { from: 9, to: 12 },
      }),
    });

  it('200 with the count of students in scope after a real token request', async () => {
    const id = uniqueSchoolId();
    expect((await put(id, sim.clientSecret)).statusCode).toBe(201);
    const tokensBefore = sim.stats().tokenRequests;
    const res = await insecure.req({ method: 'POST', url: url(id, '/test-connection') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, studentsInScope: sim.students.inScope(9, 12).length });
    expect(sim.stats().tokenRequests).toBe(tokensBefore + 1);
    // Every test asks PowerSchool for a fresh token: a cached one would not prove the credentials.
    await insecure.req({ method: 'POST', url: url(id, '/test-connection') });
    expect(sim.stats().tokenRequests).toBe(tokensBefore + 2);
  });

  it('422 POWERSCHOOL_AUTH_FAILED on a wrong secret', async () => {
    const id = uniqueSchoolId();
    await put(id, 'wrong-secret');
    const res = await insecure.req({ method: 'POST', url: url(id, '/test-connection') });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('POWERSCHOOL_AUTH_FAILED');
  });

  it('422 POWERSCHOOL_UNREACHABLE when nothing listens', async () => {
    const id = uniqueSchoolId();
    await put(id, 's', 'http://127.0.0.1:1');
    const res = await insecure.req({ method: 'POST', url: url(id, '/test-connection') });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('POWERSCHOOL_UNREACHABLE');
  });

  it('422 POWERSCHOOL_FORBIDDEN passes the client’s code through; anything else is UNREACHABLE', async () => {
    let next: Error = new PowerSchoolError('POWERSCHOOL_FORBIDDEN', 'no access', {
      retryable: false,
      fields: ['students.dob'],
    });
    const stubbed = await startTestApi({
      env: { ALLOW_INSECURE_POWERSCHOOL: 'true' },
      deps: {
        powerSchool: {
          countStudentsInScope: async () => {
            throw next;
          },
        },
      },
    });
    try {
      const id = uniqueSchoolId();
      await stubbed.req({ method: 'PUT', url: url(id), payload: settings() });
      let res = await stubbed.req({ method: 'POST', url: url(id, '/test-connection') });
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'POWERSCHOOL_FORBIDDEN', details: [{ path: 'students.dob' }] });
      next = new PowerSchoolError('POWERSCHOOL_BAD_RESPONSE', 'garbage', { retryable: false });
      res = await stubbed.req({ method: 'POST', url: url(id, '/test-connection') });
      expect(res.json().error.code).toBe('POWERSCHOOL_UNREACHABLE');
      next = new TypeError('boom');
      res = await stubbed.req({ method: 'POST', url: url(id, '/test-connection') });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('POWERSCHOOL_UNREACHABLE');
    } finally {
      await stubbed.close();
    }
  });
});
