import { randomUUID } from 'node:crypto';
import { createDb, type Db, type DbOptions } from '../../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../../db/migrate.js';
import { testEnv } from './env.js';

/**
 * Database set-up for tests. Most tests share the suite's database (global-setup.ts migrated it)
 * and keep apart by unique school ids; a test that starts `npm run worker` or the API as a child
 * process takes a database of its own, because those reconcile every integration they see.
 */

const APPLICATION_NAME = 'powerschool-sync-test';

/** A pool on the suite's shared database (or on `url`). */
export function testDb(options: DbOptions & { url?: string } = {}): Db {
  const { url = testEnv.databaseUrl, ...dbOptions } = options;
  return createDb(url, { max: 5, applicationName: APPLICATION_NAME, ...dbOptions });
}

export interface FreshDatabase {
  url: string;
  db: Db;
  /** Closes the pool and drops the database; never throws. */
  drop(): Promise<void>;
}

/** A migrated database of one's own on the suite's PostgreSQL server, dropped by `drop()`. */
export async function freshDatabase(prefix: string, options: DbOptions = {}): Promise<FreshDatabase> {
  const url = new URL(testEnv.postgresServerUrl);
  url.pathname = `/pss_${prefix}_${process.pid}_${randomUUID().slice(0, 8)}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  const db = testDb({ url: databaseUrl, max: 3, ...options });
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    await dropDatabase(databaseUrl).catch(() => {});
    throw err;
  }
  return {
    url: databaseUrl,
    db,
    async drop() {
      await db.destroy().catch(() => {});
      await dropDatabase(databaseUrl).catch(() => {});
    },
  };
}
