import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { DEFAULT_DATABASE_URL } from '../config.js';
import { createDb } from '../db/connection.js';
import { dropDatabase, ensureDatabase, migrateToLatest } from '../db/migrate.js';
import {
  describeServer,
  postgresAnswers,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../scripts/lib/embedded-postgres.js';
import { freePort } from '../scripts/lib/ports.js';
import { provisionTemporalCli } from '../scripts/lib/temporal-cli.js';
import { startTemporalDevServer, type DevServer } from '../scripts/lib/temporal-dev-server.js';

/**
 * One real Temporal dev server and one fresh, migrated PostgreSQL database for the whole run.
 * Test files reach them through `inject(...)` (see test/helpers/env.ts). Nothing here touches a
 * developer's own database: the test database has a unique name and is dropped at the end.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    temporalCliPath: string;
    databaseUrl: string;
    /** Base URL of the PostgreSQL server (no database), for tests that need a database of their own. */
    postgresServerUrl: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  const cliPath = await provisionTemporalCli((line) => console.log(line));

  // A machine without PostgreSQL gets an embedded one for this run (its own, in a temporary directory).
  const wanted = process.env.TEST_POSTGRES_URL ?? DEFAULT_DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  let embeddedDir: string | undefined;
  if (!(await postgresAnswers(wanted))) {
    console.log(
      `[test] nothing answers at ${describeServer(wanted)} (TEST_POSTGRES_URL): starting an embedded PostgreSQL`,
    );
    embeddedDir = mkdtempSync(join(tmpdir(), 'pss-test-postgres-'));
    chmodSync(embeddedDir, 0o755); // PostgreSQL runs as another user when we are root
    embedded = await startEmbeddedPostgres({ dataDir: join(embeddedDir, 'data') });
  }
  const stopEmbedded = async () => {
    await embedded?.stop();
    if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
  };
  const serverUrl = new URL(embedded?.url ?? wanted);
  serverUrl.pathname = '/';
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/pss_test_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = dbUrl.toString();

  const [port, uiPort] = [await freePort(), await freePort()];
  const tmp = mkdtempSync(join(tmpdir(), 'pss-test-'));
  let server: DevServer | undefined;
  // Kept apart so that a failure of the database or the bundle still stops a server that started.
  const starting = startTemporalDevServer({ cliPath, port, uiPort });
  try {
    const [devServer, , bundle] = await Promise.all([
      starting,
      (async () => {
        await ensureDatabase(databaseUrl);
        const db = createDb(databaseUrl, { max: 1 });
        try {
          await migrateToLatest(db);
        } finally {
          await db.destroy();
        }
      })(),
      bundleWorkflowCode({
        workflowsPath: new URL('./fixtures/workflows.ts', import.meta.url).pathname,
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
      }),
    ]);
    server = devServer;
    const workflowBundlePath = join(tmp, 'workflow-bundle.js');
    writeFileSync(workflowBundlePath, bundle.code);

    project.provide('temporalAddress', server.address);
    project.provide('temporalUiUrl', server.uiUrl);
    project.provide('temporalCliPath', cliPath);
    project.provide('databaseUrl', databaseUrl);
    project.provide('postgresServerUrl', serverUrl.toString());
    project.provide('workflowBundlePath', workflowBundlePath);
    console.log(
      `[test] Temporal ${server.address}, database ${dbUrl.pathname.slice(1)}, ready in ${Date.now() - started} ms`,
    );
  } catch (err) {
    await starting.then((s) => s.stop()).catch(() => {});
    await dropDatabase(databaseUrl).catch(() => {});
    await stopEmbedded();
    throw err;
  }

  return async () => {
    await server?.stop();
    await dropDatabase(databaseUrl).catch((err) => console.warn('could not drop test database:', err));
    rmSync(tmp, { recursive: true, force: true });
    await stopEmbedded();
  };
}
