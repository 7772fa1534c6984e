import { parseArgs } from 'node:util';
import { DEFAULT_CLUSTER_PREFIX, startCluster } from './lib/cluster.js';

/**
 * `npm run cluster`: the production topology on this machine — a Temporal server on PostgreSQL
 * (persistence and visibility), its UI, the API and two versioned workers, each its own process —
 * then prints what runs where and stays up until Ctrl-C. The databases (prefix
 * `powerschool_sync_cluster`) outlive it; `-- --fresh` starts from empty ones.
 */

const { values } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    prefix: { type: 'string', default: DEFAULT_CLUSTER_PREFIX },
    workers: { type: 'string', default: '2' },
    students: { type: 'string', default: '3000' },
    'no-simulator': { type: 'boolean', default: false },
    headless: { type: 'boolean', default: false },
    unversioned: { type: 'boolean', default: false },
    'build-id': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`npm run cluster -- [--fresh] [--prefix NAME] [--workers N] [--students N | --no-simulator]
                       [--headless] [--unversioned | --build-id ID]
  --fresh         drop the cluster's databases first (<prefix>, <prefix>_temporal, <prefix>_temporal_visibility)
  --no-simulator  no PowerSchool simulator: the API and workers run with NODE_ENV=production
  --headless      no Temporal UI
  --unversioned   workers without Worker Versioning (default: Worker Deployment "powerschool-sync",
                  build id = hash of the workflow bundle, made current at start)
PostgreSQL: DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432).`);
  process.exit(0);
}

const t0 = Date.now();
console.log('\x1b[1m== Starting the cluster\x1b[0m (Temporal server on PostgreSQL, UI, API, workers)');
const cluster = await startCluster({
  prefix: values.prefix,
  fresh: values.fresh,
  workers: Number(values.workers),
  ui: !values.headless,
  simulator: values['no-simulator'] ? false : { students: Number(values.students), seed: 42, malformedShare: 0.01 },
  versioning: values.unversioned ? false : values['build-id'] ? { buildId: values['build-id'] } : {},
  ports: {
    temporal: Number(process.env.TEMPORAL_PORT) || 7233,
    ui: Number(process.env.TEMPORAL_UI_PORT) || 8080,
    api: Number(process.env.PORT) || 3000,
  },
}).catch((err: unknown) => {
  console.error(`\nCluster failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

for (const line of cluster.summary()) console.log(line);
console.log(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (cluster.simulator) {
  console.log('\nTry it: store a school whose PowerSchool is the simulator, then trigger a run:');
  const auth = `-H 'Authorization: Bearer ${cluster.apiToken}'`;
  const settings = JSON.stringify({
    powerschool: {
      serverUrl: cluster.simulator.url,
      clientId: cluster.simulator.clientId,
      clientSecret: cluster.simulator.clientSecret,
    },
    active: true,
    testRun: false,
    notifications: { enabled: false, recipients: [] },
    grades: { from: 9, to: 12 },
    mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: true },
    schedule: { cron: '0 2 * * 0', timezone: 'UTC' },
  });
  console.log(
    `  curl -s -X PUT ${auth} -H 'content-type: application/json' ${cluster.apiUrl}/v1/schools/demo/integration -d '${settings}'`,
  );
  console.log(`  curl -s -X POST ${auth} ${cluster.apiUrl}/v1/schools/demo/runs`);
}
console.log('Ctrl-C to stop (the databases stay).');

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping the workers, the API, the UI and the Temporal server…');
  await cluster.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
// A part that dies is reported at once: the cluster is no longer what it claims to be.
for (const part of [cluster.server, cluster.apiProcess, ...cluster.workers.map((w) => w.process)]) {
  void part.whenExited().then(() => {
    if (!stopping) console.error(`\n${part.failure('stopped unexpectedly').message}`);
  });
}
