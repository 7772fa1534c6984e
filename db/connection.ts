import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './types.js';

// DATE columns are calendar dates: keep them as 'YYYY-MM-DD' strings so no time zone can shift them.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export type Db = Kysely<Database>;

export interface DbOptions {
  /** Pool size; the worker and API each keep one pool. */
  max?: number;
  /** Label shown in pg_stat_activity, so operators (and fault tests) can find our connections. */
  applicationName?: string;
}

export function createDb(connectionString: string, options: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'powerschool-sync',
    connectionTimeoutMillis: 10_000,
  });
  // A connection killed by the server (restart, pg_terminate_backend) must not crash the process:
  // the pool drops it and the next query gets a fresh one.
  pool.on('error', () => {});
  // The same for a connection killed while checked out: without a listener its client's 'error'
  // is an uncaught exception. The failed query still rejects, and the pool drops the client.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
