import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDb, type Db } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';

/**
 * Where the scenarios run: addresses of a Temporal server and of a migrated database the bench
 * owns, plus the secrets its API and worker children share. run.ts builds one from a dev server
 * it starts; the smoke test builds one from the test harness's server.
 */
export interface BenchEnv {
  temporalAddress: string;
  temporalUiUrl: string;
  /** A migrated database of the bench's own (the pipeline, the API and the baseline schema live in it). */
  databaseUrl: string;
  /** A task queue no one else polls. */
  taskQueue: string;
  apiToken: string;
  secretsKey: string;
  log: (line: string) => void;
  /** When set, the worker and API children write V8 CPU profiles (--cpu-prof) into this directory. */
  cpuProfileDir?: string;
  /** Extra node flags for the worker children (to try a fix, e.g. --max-old-space-size=256); none by default. */
  workerNodeArgs?: string[];
  /** The Temporal server's pid when it runs on this machine (for the CPU account). */
  temporalPid?: number;
}

/**
 * Node flags for a profiled child, or none. Each child gets a directory of its own: node writes
 * one profile per thread (tsx's loader runs on a thread of its own), named CPU.<date>.<pid>.<tid>….
 */
export function profileArgs(env: BenchEnv, name: string): string[] {
  return env.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', join(env.cpuProfileDir, `${name}-${Date.now()}`)] : [];
}

export interface BenchContext extends BenchEnv {
  db: Db;
  temporal: Client;
  close(): Promise<void>;
}

export function newBenchEnv(opts: {
  temporalAddress: string;
  temporalUiUrl?: string;
  databaseUrl: string;
  log?: (line: string) => void;
}): BenchEnv {
  return {
    temporalAddress: opts.temporalAddress,
    temporalUiUrl: opts.temporalUiUrl ?? 'http://localhost:8233',
    databaseUrl: opts.databaseUrl,
    taskQueue: `bench-${randomBytes(4).toString('hex')}`,
    apiToken: `bench-${randomBytes(24).toString('hex')}`,
    secretsKey: randomBytes(32).toString('base64'),
    log: opts.log ?? ((line) => console.log(line)),
  };
}

/** A fresh database named `name` on the server of `serverUrl`: dropped if it exists, created, migrated. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  await dropDatabase(databaseUrl);
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return databaseUrl;
}

export async function openContext(env: BenchEnv): Promise<BenchContext> {
  const db = createDb(env.databaseUrl, { max: 4, applicationName: 'powerschool-sync-bench' });
  const connection = await Connection.connect({ address: env.temporalAddress });
  const temporal = new Client({ connection, namespace: 'default' });
  return {
    ...env,
    db,
    temporal,
    async close() {
      await connection.close().catch(() => {});
      await db.destroy().catch(() => {});
    },
  };
}
