// The PostgreSQL pool as a Kysely instance, its timeouts, and transactions that a signal can abort.
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './types.js';

// DATE columns are calendar dates: keep them as 'YYYY-MM-DD' strings so no time zone can shift them.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export type Db = Kysely<Database>;

/**
 * Every statement on a pool is bounded, so a hung database call fails with PostgreSQL's own
 * "canceling statement due to statement timeout" / "… due to lock timeout" instead of holding an
 * API request or an activity for ever. Our statements take milliseconds (one set-based statement
 * per page or per request) and the bookkeeping activities allow 30 s per attempt: a statement
 * still running after 30 s is stuck, not working. Locks are held briefly by design (the diff,
 * which holds the run row for its whole transaction, raises its own limits; a schedule write
 * holds a per-school lock for at most its Temporal deadlines), so a 20 s wait for one means
 * something is wrong. Transactions that need longer raise them with setLocalTimeouts.
 */
export const STATEMENT_TIMEOUT_MS = 30_000;
export const LOCK_TIMEOUT_MS = 20_000;

export interface DbOptions {
  /** Pool size; the worker and API each keep one pool. */
  max?: number;
  /** Label shown in pg_stat_activity, so operators (and fault tests) can find our connections. */
  applicationName?: string;
  /** Per-statement limit on this pool's connections (default STATEMENT_TIMEOUT_MS; 0: none). */
  statementTimeoutMs?: number;
  /** Limit on waiting for a lock (default LOCK_TIMEOUT_MS; 0: none). */
  lockTimeoutMs?: number;
}

export function createDb(connectionString: string, options: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'powerschool-sync',
    connectionTimeoutMillis: 10_000,
    // Sent as session settings when each connection opens; SET LOCAL raises them per transaction.
    statement_timeout: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
    lock_timeout: options.lockTimeoutMs ?? LOCK_TIMEOUT_MS,
  });
  // A connection killed by the server (restart, pg_terminate_backend) must not crash the process:
  // the pool drops it and the next query gets a fresh one.
  pool.on('error', () => {});
  // The same for a connection killed while checked out: without a listener its client's 'error'
  // is an uncaught exception. The failed query still rejects, and the pool drops the client.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Raises this transaction's statement and lock timeouts above the pool's (a long, legitimate transaction). */
export async function setLocalTimeouts(
  tx: Transaction<Database>,
  limits: { statementTimeoutMs: number; lockTimeoutMs: number },
): Promise<void> {
  await sql`select set_config('statement_timeout', ${`${limits.statementTimeoutMs}ms`}, true),
                   set_config('lock_timeout', ${`${limits.lockTimeoutMs}ms`}, true)`.execute(tx);
}

/**
 * Runs `work` in a transaction that `signal` ends at any point: the statement in flight is
 * cancelled in PostgreSQL (pg_cancel_backend) and the transaction rolls back, instead of running
 * on — and committing — after its caller has given up (a cancelled or timed-out activity).
 * `work` should call `signal.throwIfAborted()` between statements: a cancel that arrives while
 * no statement runs is ignored by PostgreSQL. Once COMMIT has gone through it stands; the caller
 * tells the two apart by what the database says (e.g. the run's applied_at).
 */
export async function abortableTransaction<T>(
  db: Db,
  signal: AbortSignal | undefined,
  work: (tx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (!signal) return db.transaction().execute(work);
  signal.throwIfAborted();
  // One connection held for the whole call, so a cancel aimed at our backend cannot reach the
  // statement of whoever gets the connection next from the pool.
  return db.connection().execute(async (conn) => {
    let backend: { pid: number; xactStart: string } | undefined;
    let cancelling: Promise<unknown> | undefined;
    const cancel = () => {
      if (!backend) return;
      const { pid, xactStart } = backend;
      // Only while this very transaction is open (xact_start is its start time, to the microsecond).
      cancelling = sql`
        select pg_cancel_backend(pid) from pg_stat_activity
        where pid = ${pid} and xact_start = ${xactStart}::timestamptz
      `
        .execute(db)
        .catch(() => undefined);
    };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return await conn.transaction().execute(async (tx) => {
        const { rows } = await sql<{ pid: number; xact_start: string }>`
          select pg_backend_pid() as pid, now()::text as xact_start
        `.execute(tx);
        backend = { pid: rows[0]!.pid, xactStart: rows[0]!.xact_start };
        signal.throwIfAborted();
        const result = await work(tx);
        // Last chance to roll back rather than commit.
        signal.throwIfAborted();
        return result;
      });
    } finally {
      signal.removeEventListener('abort', cancel);
      await cancelling;
    }
  });
}
