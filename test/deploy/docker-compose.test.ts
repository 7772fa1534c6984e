import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/search-attributes.js';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags.js';
import { temporalServerEnv } from '../../scripts/lib/cluster.js';
import { PROJECT_ROOT } from '../../scripts/lib/temporal-cli.js';

/**
 * Docker cannot run on our machines, so docker-compose.yml is kept correct by review and by this
 * test: every image is a published tag, every service is runnable, wired to what it depends on,
 * configured by the contract, and the topology is the one `npm run test:cluster` proves (the same
 * deploy/ scripts, server variables and dynamic config).
 */

interface Service {
  image?: string;
  build?: string;
  pull_policy?: string;
  init?: boolean;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const deployFile = (name: string) => readFileSync(join(PROJECT_ROOT, 'deploy', name), 'utf8');

const CONTRACT_ENV = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_URL',
  'API_TOKENS',
  'SECRETS_KEY',
  'EMAIL_FROM',
  'RESEND_API_KEY',
  'ALLOW_INSECURE_POWERSCHOOL',
  'LOG_LEVEL',
];
const APP = ['migrate', 'api', 'worker-1', 'worker-2'];
const WORKERS = ['worker-1', 'worker-2'];
const ADMIN_TOOLS = 'temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0';

/** The variables a deploy/ template or script reads. */
function variablesOf(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/env "([A-Z_][A-Z0-9_]*)"/g)) names.add(m[1]!);
  for (const m of text.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)) names.add(m[1]!);
  return names;
}

describe('docker-compose.yml', () => {
  it('has the expected services, each on a published image tag (pinned exactly)', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'grafana',
        'migrate',
        'postgres',
        'prometheus',
        'temporal',
        'temporal-namespace',
        'temporal-schema',
        'temporal-ui',
        'worker-1',
        'worker-2',
        'worker-version',
      ].sort(),
    );
    expect(services.temporal!.image).toBe('temporalio/server:1.29.1');
    // admin-tools has no plain `1.29.1` tag; this is the one Temporal's own compose for 1.29.1 uses.
    for (const job of ['temporal-schema', 'temporal-namespace', 'worker-version'])
      expect(services[job]!.image).toBe(ADMIN_TOOLS);
    // Worker Versioning in the UI needs 2.38 or later.
    expect(services['temporal-ui']!.image).toBe('temporalio/ui:2.44.1');
    expect(services.postgres!.image).toBe('postgres:16');
  });

  it('builds one image once, which migrate, the API and the workers run', () => {
    const building = Object.entries(services).filter(([, s]) => s.build);
    expect(building.map(([name]) => name)).toEqual(['migrate']);
    expect(services.migrate).toMatchObject({ build: '.', pull_policy: 'build' });
    for (const app of APP) expect(services[app]!.image).toBe(services.migrate!.image);
    for (const app of APP.filter((a) => a !== 'migrate')) expect(services[app]!.pull_policy).toBe('never');
  });

  it('wires dependencies to services that exist, with conditions that can be met', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on unknown ${dep}`).toBeDefined();
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(services[dep]).toHaveProperty('healthcheck');
      }
    }
    expect(Object.keys(services.temporal!.depends_on!)).toEqual(['temporal-schema']);
    for (const app of ['api', ...WORKERS]) {
      expect(services[app]!.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
    }
    expect(services['worker-version']!.depends_on).toMatchObject({ 'worker-1': { condition: 'service_healthy' } });
  });

  it('runs node as the process (under init) for the commands the package scripts name', () => {
    for (const [svc, script, flags] of [
      ['api', 'api', []],
      ['worker-1', 'worker', WORKER_NODE_FLAGS],
      ['worker-2', 'worker', WORKER_NODE_FLAGS],
      ['migrate', 'migrate', []],
    ] as const) {
      const command = services[svc]!.command!;
      expect(command.slice(0, 3 + flags.length)).toEqual(['node', ...flags, '--import', 'tsx']);
      expect(pkg.scripts[script]).toBe(['tsx', ...flags, command[3 + flags.length]].join(' '));
      expect(services[svc]!.init).toBe(true);
    }
    const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24-/m); // Node 24 LTS, the documented runtime
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "api\/main.ts"\]$/m);
  });

  it('restarts the long-running services and health-checks the server, the API and the workers', () => {
    for (const svc of ['postgres', 'temporal', 'temporal-ui', 'api', ...WORKERS])
      expect(services[svc]!.restart, svc).toBe('unless-stopped');
    expect(services.api!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:3000/healthz');
    for (const worker of WORKERS)
      expect(services[worker]!.healthcheck!.test).toEqual([
        'CMD',
        'node',
        '--import',
        'tsx',
        'deploy/worker-healthcheck.ts',
      ]);
    expect(services.temporal!.healthcheck).toBeDefined();
  });

  it('configures the api and workers with every contract variable, wired to the other services', () => {
    for (const app of ['api', ...WORKERS]) {
      const env = services[app]!.environment!;
      for (const name of CONTRACT_ENV) expect(env, `${app} lacks ${name}`).toHaveProperty(name);
      expect(new URL(env.DATABASE_URL!).hostname).toBe('postgres');
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.TEMPORAL_UI_URL).toBe('http://localhost:8080');
      expect(env.API_TOKENS).toMatch(/^\$\{API_TOKENS:\?/); // required: compose refuses to start without it
      expect(env.SECRETS_KEY).toMatch(/^\$\{SECRETS_KEY:\?/);
      expect(env.ALLOW_INSECURE_POWERSCHOOL).toBe('false');
    }
    expect(services.api!.environment).toMatchObject({ HOST: '0.0.0.0', PORT: '3000' });
    expect(services.api!.ports).toEqual(['3000:3000']);
    // Workers poll as a Worker Deployment Version (syncStudents PINNED), as the cluster's do.
    for (const worker of WORKERS)
      expect(services[worker]!.environment).toMatchObject({
        WORKER_DEPLOYMENT_NAME: 'powerschool-sync',
        WORKER_BUILD_ID: services['worker-version']!.environment!.WORKER_BUILD_ID,
        WORKER_METRICS_PORT: '9464',
      });
  });

  it('publishes Temporal gRPC and the UI on this machine only', () => {
    expect(services.temporal!.ports).toEqual(['127.0.0.1:7233:7233']);
    expect(services['temporal-ui']!.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  it('sets Temporal up with the deploy/ scripts and config that npm run cluster runs', () => {
    for (const job of ['temporal-schema', 'temporal-namespace', 'worker-version']) {
      expect(services[job]!.volumes).toContain('./deploy:/deploy:ro');
      const script = deployFile(services[job]!.entrypoint![1]!.replace('/deploy/', ''));
      expect(script).toMatch(/^#!\/bin\/sh/);
      // Every variable the script needs without a default is set on the job.
      const defaulted = new Set([...script.matchAll(/\$\{([A-Z_]+):=/g)].map((m) => m[1]!));
      const needed = [...variablesOf(script)].filter((v) => !defaulted.has(v) && !['PATH', 'HOME'].includes(v));
      for (const v of needed.filter((n) => /^(POSTGRES|TEMPORAL|WORKER|DB)/.test(n)))
        expect(services[job]!.environment, `${job} lacks ${v}`).toHaveProperty(v);
    }
    // The namespace job registers exactly the search attributes the service uses.
    const ns = deployFile('temporal-create-namespace.sh');
    const registered = /for sa in ([^;]+);/.exec(ns)![1]!.trim().split(/\s+/);
    expect(registered.map((sa) => sa.replace(':', '='))).toEqual(SEARCH_ATTRIBUTE_FLAGS);

    // The server: every variable compose and the cluster set is one deploy/temporal-server.yaml reads,
    // i.e. one the temporalio/server image reads too.
    const template = variablesOf(deployFile('temporal-server.yaml'));
    const temporal = services.temporal!;
    for (const name of Object.keys(temporal.environment!)) expect(template, name).toContain(name);
    return temporalServerEnv(new URL('postgres://u:p@db:5432/'), 'x', 7233).then((clusterEnv) => {
      for (const name of Object.keys(clusterEnv)) expect(template, name).toContain(name);
      expect(clusterEnv).toMatchObject({
        DB: 'postgres12',
        DBNAME: 'x_temporal',
        VISIBILITY_DBNAME: 'x_temporal_visibility',
      });
    });
  });

  it('gives the server the dynamic config the cluster runs with', () => {
    const temporal = services.temporal!;
    const mount = temporal.volumes!.find((v) => v.startsWith('./deploy/dynamicconfig.yaml:'))!;
    expect(mount.split(':')[1]).toBe(temporal.environment!.DYNAMIC_CONFIG_FILE_PATH);
    const dynamic = parse(deployFile('dynamicconfig.yaml')) as Record<string, { value: unknown }[]>;
    expect(dynamic['system.enableActivityEagerExecution']).toEqual([{ value: true }]);
    expect(dynamic['system.forceSearchAttributesCacheRefreshOnRead']).toEqual([{ value: true }]);
    // Temporal and the app share one PostgreSQL service.
    expect(services['temporal-schema']!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
  });
});
