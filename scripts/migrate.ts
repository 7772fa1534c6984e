import { loadConfigOrExit } from '../config.js';
import { createDb } from '../db/connection.js';
import { ensureDatabase, migrateToLatest } from '../db/migrate.js';

/** `npm run migrate`: applies every pending migration to DATABASE_URL. Safe to run again. */
const config = loadConfigOrExit('tool');
try {
  if (config.devMode || config.databaseUrl.endsWith('/powerschool_sync')) {
    if (await ensureDatabase(config.databaseUrl))
      console.log('created database', new URL(config.databaseUrl).pathname.slice(1));
  }
  const db = createDb(config.databaseUrl, { max: 1, applicationName: 'powerschool-sync-migrate' });
  try {
    const { results } = await migrateToLatest(db);
    const applied = (results ?? []).filter((r) => r.status === 'Success');
    console.log(
      applied.length ? `applied: ${applied.map((r) => r.migrationName).join(', ')}` : 'database is up to date',
    );
  } finally {
    await db.destroy();
  }
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  console.error(`migrate failed: ${e.code ? e.code + ' ' : ''}${e.message}`);
  process.exit(1);
}
