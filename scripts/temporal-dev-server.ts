import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT, provisionTemporalCli, TemporalCliMissing } from './lib/temporal-cli.js';
import { startTemporalDevServer } from './lib/temporal-dev-server.js';
import { isPortFree } from './lib/ports.js';

/**
 * `npm run temporal`: a local Temporal dev server with its web UI and our search attributes.
 * TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233), TEMPORAL_DB_FILE (.data/temporal.sqlite).
 */
const env = z
  .object({
    TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
    TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
    TEMPORAL_DB_FILE: z
      .string()
      .min(1)
      .default(join(PROJECT_ROOT, '.data', 'temporal.sqlite')),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')));
if (!env.success) {
  const issue = env.error.issues[0]!;
  console.error(`Configuration error: ${String(issue.path[0])}: ${issue.message}`);
  process.exit(78);
}
const { TEMPORAL_PORT: port, TEMPORAL_UI_PORT: uiPort, TEMPORAL_DB_FILE: dbFile } = env.data;

for (const [name, p] of [
  ['TEMPORAL_PORT', port],
  ['TEMPORAL_UI_PORT', uiPort],
] as const) {
  if (!(await isPortFree(p))) {
    console.error(`Port ${p} (${name}) is already in use: stop what holds it or set ${name}.`);
    process.exit(1);
  }
}

let cliPath: string;
try {
  cliPath = await provisionTemporalCli();
} catch (err) {
  console.error(err instanceof TemporalCliMissing ? err.message : String(err));
  process.exit(1);
}
const server = await startTemporalDevServer({ cliPath, port, uiPort, dbFile, stdio: 'inherit' });
console.log(`Temporal dev server ready: gRPC ${server.address}, UI ${server.uiUrl}, state in ${dbFile}`);
console.log(
  'Search attributes: SchoolId (Keyword), SyncTrigger (Keyword), TestRun (Bool), SyncStatus (Keyword). Ctrl-C to stop.',
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.process.on('exit', (code) => {
  if (!stopping) {
    console.error(`Temporal dev server exited (${code})`);
    process.exit(1);
  }
});
