/**
 * What scenario 3's `POST /runs` burst waits on, without the runs themselves: N schools triggered
 * at once through the API with no worker polling (so nothing else loads Temporal, PostgreSQL or
 * the cores), then N workflow starts sent straight to Temporal with the client alone. The second is
 * the floor of the first: the API cannot answer before Temporal has accepted the start.
 *
 *   npx tsx bench/trigger-floor.ts [--schools 200]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DATABASE_URL } from '../config.js';
import { dropDatabase } from '../db/migrate.js';
import { freePort } from '../scripts/lib/ports.js';
import { provisionTemporalCli } from '../scripts/lib/temporal-cli.js';
import { startTemporalDevServer } from '../scripts/lib/temporal-dev-server.js';
import { SYNC_WORKFLOW_TYPE } from '../workflows/types.js';
import { startApiProcess } from './lib/api.js';
import { freshDatabase, newBenchEnv, openContext } from './lib/env.js';
import { putSchool } from './lib/runs.js';
import { startSimulatorProcess } from './lib/simulator.js';
import { percentile } from './lib/stats.js';

const { values } = parseArgs({ options: { schools: { type: 'string', default: '200' } } });
const schools = Number(values.schools);

/** Sends every call at once; their latencies (ms) and the burst's length. */
async function burst(n: number, call: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t0 = performance.now();
      await call(i);
      latencies.push(performance.now() - t0);
    }),
  );
  const ms = performance.now() - started;
  return `p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms, all ${ms.toFixed(0)} ms (${((n * 1000) / ms).toFixed(0)}/s)`;
}

const cliPath = await provisionTemporalCli((line) => console.log(line));
const temporal = await startTemporalDevServer({ cliPath, port: await freePort(), uiPort: await freePort() });
const serverUrl = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
serverUrl.pathname = '/';
const databaseUrl = await freshDatabase(serverUrl.toString(), 'powerschool_sync_trigger_floor');
const env = newBenchEnv({ temporalAddress: temporal.address, databaseUrl });
const ctx = await openContext(env);
const api = await startApiProcess(env);
const sim = await startSimulatorProcess({ students: 100, maxPageSize: 100 });
try {
  const ids = Array.from({ length: schools }, (_, i) => `floor-${i + 1}`);
  for (const id of ids) await putSchool(api, id, sim);
  console.log(
    `${schools} × POST /runs at once, no worker:`,
    await burst(schools, (i) => api.call('POST', `/v1/schools/${ids[i]}/runs`, { testRun: false })),
  );
  console.log(
    `${schools} × workflow.start at once, client only:`,
    await burst(schools, (i) =>
      ctx.temporal.workflow.start(SYNC_WORKFLOW_TYPE, {
        taskQueue: `${env.taskQueue}-nobody`,
        workflowId: `floor-direct-${i + 1}`,
        args: [{ schoolId: ids[i]!, trigger: 'manual', testRun: false }],
      }),
    ),
  );
} finally {
  await sim.stop();
  await api.stop();
  await ctx.close();
  await temporal.stop();
  await dropDatabase(databaseUrl).catch(() => {});
}
process.exit(0);
