import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxEmailSender } from '../../email/sender.js';
import { silentLog } from '../../logging/log.js';
import { createLogger } from '../../logging/logger.js';
import { createNamespace, LogCapture } from '../api/support.js';
import { freshDatabase } from '../helpers/db.js';
import { testEnv, uniqueSchoolId } from '../helpers/env.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { LogSink } from '../reliability/support.js';

const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the shared logger', () => {
  it('redacts tokens, client secrets and access tokens wherever they appear, and names the process', () => {
    const logs = new LogCapture();
    const logger = createLogger({ logLevel: 'info', service: 'worker' }, logs);
    logger.info(
      {
        authorization: 'Bearer secret-1',
        headers: { authorization: 'Bearer secret-2' },
        req: { headers: { authorization: 'Bearer secret-3', cookie: 'secret-4' } },
        clientSecret: 'secret-5',
        credentials: { serverUrl: 'https://a.example', clientId: 'c', clientSecret: 'secret-6' },
        settings: { powerschool: { clientSecret: 'secret-7' } },
        client_secret: 'secret-8',
        accessToken: 'secret-9',
        token: { accessToken: 'secret-10', useUntil: 1 },
        body: { access_token: 'secret-11' },
      },
      'everything at once',
    );
    const text = logs.text();
    expect(text).not.toMatch(/secret-\d/);
    const [line] = parse(logs.lines);
    expect(line).toMatchObject({
      service: 'powerschool-sync-worker',
      credentials: { serverUrl: 'https://a.example', clientId: 'c', clientSecret: '[redacted]' },
      token: { accessToken: '[redacted]', useUntil: 1 },
    });
  });
});

describe('the email outbox', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    database = await freshDatabase('logging');
  });
  afterAll(async () => database?.drop());

  it('logs how many recipients, never their addresses', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sender = new OutboxEmailSender(database.db, {
      ...silentLog,
      info: (obj) => void lines.push({ ...obj }),
    });
    const to = ['counselor.one@school.example', 'counselor.two@school.example'];
    const runId = `run-${randomUUID()}`;
    await sender.send(
      { from: 'Sync <sync@localhost>', to, subject: 'PowerSchool sync done', text: 't', html: '<p>t</p>' },
      { runId, schoolId: uniqueSchoolId() },
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ runId, recipients: 2 });
    expect(JSON.stringify(lines)).not.toContain('@school.example');
    // The addresses are in the table, where the email is.
    const row = await database.db
      .selectFrom('email_outbox')
      .select('to')
      .where('run_id', '=', runId)
      .executeTakeFirst();
    expect(row?.to).toEqual(to);
  });
});

describe('the worker process (worker/main.ts)', () => {
  it('logs through the shared redacting logger', async () => {
    const database = await freshDatabase('workerlog');
    const logs = new LogSink();
    try {
      // A namespace of its own: the worker reconciles schedules at start.
      const namespace = await createNamespace('worker-log');
      const child = await startWorkerProcess({
        databaseUrl: database.url,
        taskQueue: `worker-log-${randomUUID()}`,
        logs,
        // The test bundle (workflows/ plus fixtures) spares the worker bundling at start.
        env: { TEMPORAL_NAMESPACE: namespace, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: testEnv.workflowBundlePath },
      });
      await child.stop();
      const lines = logs
        .text()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const started = lines.find((l) => l.msg === 'worker started');
      expect(started).toMatchObject({ service: 'powerschool-sync-worker', namespace });
      // Every JSON line the worker wrote came through that logger.
      expect(lines.length).toBeGreaterThan(1);
      for (const line of lines) expect(line.service, JSON.stringify(line)).toBe('powerschool-sync-worker');
    } finally {
      await database.drop();
    }
  }, 90_000);
});
