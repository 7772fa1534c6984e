// Creates the database if needed and runs the migrations in ./migrations.
import { Migrator, sql, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import type { Db } from './connection.js';
import { migrations } from './migrations/index.js';

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  // A schema change may rewrite or index a large table: it is not bound by the pool's statement
  // and lock timeouts. Lifted on one connection for the migration, restored before it goes back.
  return db.connection().execute(async (conn) => {
    await sql`set statement_timeout = 0`.execute(conn);
    await sql`set lock_timeout = 0`.execute(conn);
    try {
      const migrator = new Migrator({ db: conn, provider: { getMigrations: async () => migrations } });
      const result = await migrator.migrateToLatest();
      if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
      return result;
    } finally {
      // After a failure the connection may be gone; the migration's own error is the one to see.
      await sql`reset statement_timeout`.execute(conn).catch(() => undefined);
      await sql`reset lock_timeout`.execute(conn).catch(() => undefined);
    }
  });
}

/**
 * Creates the database named in `connectionString` when it does not exist yet (dev, demo, tests).
 * Connects to the server's `postgres` database to do it.
 */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database "${name}"`);
    return true;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}
