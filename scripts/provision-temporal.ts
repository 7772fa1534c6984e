import { performance } from 'node:perf_hooks';
import { provisionTemporalCli, TemporalCliMissing } from './lib/temporal-cli.js';

/** `npm run temporal:provision`: resolves the Temporal CLI, building it with Go when absent. */
const started = performance.now();
try {
  const path = await provisionTemporalCli();
  console.log(`Temporal CLI: ${path} (resolved in ${Math.round(performance.now() - started)} ms)`);
} catch (err) {
  console.error(err instanceof TemporalCliMissing ? err.message : String(err));
  process.exit(1);
}
