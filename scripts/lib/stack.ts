import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.js';
import { createLogger } from '../../logging/logger.js';
import { DEFAULT_DATABASE_URL, loadConfig, type Config } from '../../config.js';
import { createDb, type Db } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { connectClient, ensureSearchAttributes } from '../../temporal/connection.js';
import { createWorker, type SyncWorker } from '../../worker/create-worker.js';
import { freePort, isPortFree } from './ports.js';
import { provisionTemporalCli } from './temporal-cli.js';
import { startTemporalDevServer, type DevServer } from './temporal-dev-server.js';

/**
 * The whole product on one machine, in this process: a Temporal dev server (child process), a
 * database of its own, the PowerSchool simulator, a sync worker and the HTTP API. The demo and
 * the benchmarks stand on it; nothing here touches a user's own database.
 */

export interface StackOptions {
  /** Name of the database this stack creates afresh (dropped first if it exists). */
  databaseName: string;
  /** The PostgreSQL server that database goes on (default: DATABASE_URL's server). */
  postgresServerUrl?: string;
  simulator?: SimulatorOptions;
  /** Preferred ports; a port in use is replaced by a free one (and said so through `log`). */
  apiPort?: number;
  temporalPort?: number;
  temporalUiPort?: number;
  log?: (line: string) => void;
  logLevel?: string;
  /** Run the worker in this process (default). The benchmarks may run their own elsewhere. */
  startWorker?: boolean;
}

export interface Stack {
  config: Config;
  db: Db;
  temporal: DevServer;
  client: Client;
  simulator: Simulator;
  worker?: SyncWorker;
  app: FastifyInstance;
  apiUrl: string;
  apiToken: string;
  /** Calls the HTTP API with the stack's bearer token; throws on a non-2xx answer. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

async function portOr(preferred: number | undefined, what: string, log: (line: string) => void): Promise<number> {
  if (preferred === undefined) return freePort();
  if (await isPortFree(preferred)) return preferred;
  const port = await freePort();
  log(`  port ${preferred} (${what}) is in use; using ${port} instead`);
  return port;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    stops.length = 0;
  };

  try {
    const cliPath = await provisionTemporalCli(log);
    const [temporalPort, uiPort, apiPort] = [
      await portOr(options.temporalPort, 'Temporal gRPC', log),
      await portOr(options.temporalUiPort, 'Temporal UI', log),
      await portOr(options.apiPort, 'API', log),
    ];
    const temporal = await startTemporalDevServer({ cliPath, port: temporalPort, uiPort });
    stops.push(() => temporal.stop());

    const server = new URL(options.postgresServerUrl ?? (process.env.DATABASE_URL || DEFAULT_DATABASE_URL));
    server.pathname = `/${options.databaseName}`;
    const databaseUrl = server.toString();
    await dropDatabase(databaseUrl);
    await ensureDatabase(databaseUrl);

    const apiToken = `demo-${randomBytes(24).toString('hex')}`;
    const config = loadConfig(
      {
        NODE_ENV: 'development',
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_UI_URL: temporal.uiUrl,
        TEMPORAL_TASK_QUEUE: 'powerschool-sync',
        API_TOKENS: apiToken,
        SECRETS_KEY: randomBytes(32).toString('base64'),
        ALLOW_INSECURE_POWERSCHOOL: 'true',
        HOST: '127.0.0.1',
        PORT: String(apiPort),
        LOG_LEVEL: options.logLevel ?? 'warn',
      },
      'api',
    );

    const db = createDb(databaseUrl, { applicationName: 'powerschool-sync-stack' });
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    const simulator = await startSimulator({ port: 0, ...options.simulator });
    stops.push(() => simulator.close());

    const client = await connectClient(config);
    stops.push(() => client.connection.close());
    await ensureSearchAttributes(client, config.temporal.namespace);

    let worker: SyncWorker | undefined;
    if (options.startWorker !== false) {
      try {
        Runtime.install({ logger: new DefaultLogger('WARN') });
      } catch {
        // already installed in this process
      }
      const logger = createLogger({ logLevel: config.logLevel, service: 'worker' });
      const w = await createWorker(config, { logger });
      worker = w;
      const running = w.run();
      stops.push(async () => {
        w.shutdown();
        await running;
      });
    }

    const app = await buildApp({
      config,
      db,
      temporalClient: client,
      logger: createLogger({ logLevel: config.logLevel }),
      rateLimit: false,
    });
    await app.listen({ host: config.http.host, port: config.http.port });
    stops.push(() => app.close());
    const apiUrl = `http://${config.http.host}:${config.http.port}`;

    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(apiUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${apiToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };

    return { config, db, temporal, client, simulator, worker, app, apiUrl, apiToken, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
