// A PostgreSQL session advisory lock held on a connection of its own, for as long as a function runs.
import pg from 'pg';

/** Advisory-lock class of the lock below (the second key is the hash of its name). */
const LOCK_CLASS = 7711;

export type LockedResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Runs `fn` only if this process takes the PostgreSQL session advisory lock `name` at once; when
 * another process holds it, returns `{acquired: false}` without waiting.
 *
 * The lock lives on a connection of its own, opened for this call and closed after it: not a pooled
 * connection (the pool keeps serving while `fn` runs, however long) and not a transaction (an idle
 * session holds no snapshot, so nothing waits on it and vacuum is not held back). If the process
 * dies, PostgreSQL drops the connection and the lock with it. If the connection is lost while `fn`
 * runs, the lock is gone too: `signal` aborts, so `fn` can stop acting as the only holder.
 */
export async function withTryAdvisoryLock<T>(
  databaseUrl: string,
  name: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { applicationName?: string } = {},
): Promise<LockedResult<T>> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: options.applicationName ?? 'powerschool-sync-lock',
    connectionTimeoutMillis: 10_000,
  });
  const lost = new AbortController();
  const onLost = () => lost.abort(new Error(`lost the database connection holding the lock "${name}"`));
  // Without a listener, a connection killed by the server would be an uncaught exception.
  client.on('error', onLost);
  await client.connect();
  try {
    const res = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as locked', [
      LOCK_CLASS,
      name,
    ]);
    if (!res.rows[0]?.locked) return { acquired: false };
    client.once('end', onLost);
    return { acquired: true, value: await fn(lost.signal) };
  } finally {
    client.off('end', onLost);
    // Closing the session releases the lock.
    await client.end().catch(() => {});
  }
}
