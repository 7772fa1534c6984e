import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../../api/app.js';
import { pino } from 'pino';
import { createLogger } from '../../logging/logger.js';
import { loadConfig, type Config } from '../../config.js';
import type { Db } from '../../db/connection.js';
import { ensureSearchAttributes } from '../../temporal/connection.js';
import { createWorker } from '../../worker/create-worker.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv, workflowBundle } from '../helpers/env.js';

export const TOKEN = 'api-test-token-0123456789abcdefghijklmn';
export const SECOND_TOKEN = 'second-api-test-token-abcdefghijklmnopq';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_URL: testEnv.databaseUrl,
      TEMPORAL_ADDRESS: testEnv.temporalAddress,
      TEMPORAL_UI_URL: testEnv.temporalUiUrl,
      TEMPORAL_TASK_QUEUE: `api-test-${randomUUID()}`,
      API_TOKENS: `${TOKEN},${SECOND_TOKEN}`,
      ALLOW_INSECURE_POWERSCHOOL: 'false',
      // Tests that send many bad tokens share an address; auth-limits.test.ts sets its own limit.
      API_AUTH_FAILURES_MAX: '1000000',
      LOG_LEVEL: 'info',
      ...overrides,
    },
    'api',
  );
}

/** Every log line the app wrote, as text (for "no secret in the logs" checks). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  text() {
    return this.lines.join('\n');
  }
}

export interface TestApi {
  app: FastifyInstance;
  db: Db;
  client: Client;
  config: Config;
  logs: LogCapture;
  req(opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A Temporal namespace of one's own on the shared dev server: schedules there are invisible to other tests. */
export async function createNamespace(prefix = 'api-test'): Promise<string> {
  const namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
  const client = await testClient();
  try {
    await client.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    await ensureSearchAttributes(client, namespace);
  } finally {
    await client.connection.close();
  }
  return namespace;
}

export async function namespaceClient(namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  return new Client({ connection, namespace });
}

export async function startTestApi(
  opts: { env?: Record<string, string>; deps?: Partial<AppDeps> } = {},
): Promise<TestApi> {
  const config = testConfig(opts.env);
  const db = testDb();
  const client = await namespaceClient(config.temporal.namespace);
  const logs = new LogCapture();
  const app = await buildApp({
    config,
    db,
    temporalClient: client,
    logger: createLogger(config, logs),
    rateLimit: false,
    ...opts.deps,
  });
  await app.ready();
  return {
    app,
    db,
    client,
    config,
    logs,
    req: (o) => app.inject({ ...o, headers: { ...AUTH, ...(o.headers ?? {}) } }),
    async close() {
      await app.close();
      await db.destroy();
      await client.connection.close();
    },
  };
}

export function settings(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    powerschool: {
      serverUrl: 'https://district.powerschool.com',
      clientId: 'client-1',
      clientSecret: 'very-secret-value-42',
    },
    grades: { from: 9, to: 12 },
    ...overrides,
  };
}

export function expectErrorShape(
  body: unknown,
): asserts body is { error: { code: string; message: string; details?: unknown[] } } {
  const b = body as { error?: { code?: unknown; message?: unknown; details?: unknown } };
  if (typeof b?.error?.code !== 'string' || typeof b.error.message !== 'string') {
    throw new Error(`not the error shape: ${JSON.stringify(body)}`);
  }
  if (b.error.details !== undefined && !Array.isArray(b.error.details)) throw new Error('details must be an array');
}

/** A worker in this test process on the API's own task queue, so the runs the API starts get done. */
export async function startApiWorker(api: TestApi): Promise<{ stop(): Promise<void> }> {
  const worker = await createWorker(api.config, {
    db: api.db,
    temporalClient: api.client,
    workflowBundle: workflowBundle(),
    logger: pino({ level: 'silent' }),
    taskQueue: api.config.temporal.taskQueue,
  });
  const running = worker.run();
  return {
    async stop() {
      if (worker.worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
