import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../scripts/lib/temporal-cli.js';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../../temporal/search-attributes.js';

/**
 * Docker cannot run on our machines, so docker-compose.yml is kept correct by review and by this
 * test: every service is runnable, wired to what it depends on, and configured by the contract.
 */

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

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

describe('docker-compose.yml', () => {
  it('has the expected services, each with an image or a build', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'migrate',
        'postgres',
        'temporal',
        'temporal-namespace',
        'temporal-schema',
        'temporal-ui',
        'worker',
      ].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      expect(Boolean(s.image) !== Boolean(s.build), `${name}: exactly one of image/build`).toBe(true);
    }
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    expect(services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services.postgres!.image).toMatch(/^postgres:/);
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
    for (const app of ['api', 'worker']) {
      expect(services[app]!.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('runs the api, worker and migrate through the contract commands', () => {
    for (const [svc, script] of [
      ['api', 'api'],
      ['worker', 'worker'],
      ['migrate', 'migrate'],
    ] as const) {
      expect(services[svc]!.build).toBe('.');
      expect(services[svc]!.command).toEqual(['npm', 'run', script]);
      expect(pkg.scripts[script]).toBeDefined();
    }
    const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24-/m); // Node 24 LTS, the documented runtime
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('configures the api and worker with every contract variable, wired to the other services', () => {
    for (const app of ['api', 'worker']) {
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
  });

  it('publishes Temporal gRPC and the UI, and mounts the set-up scripts that exist', () => {
    expect(services.temporal!.ports).toContain('7233:7233');
    expect(services['temporal-ui']!.ports).toContain('8080:8080');
    for (const job of ['temporal-schema', 'temporal-namespace']) {
      expect(services[job]!.volumes).toContain('./deploy:/deploy:ro');
      const script = services[job]!.entrypoint![1]!.replace('/deploy/', '');
      expect(readFileSync(join(PROJECT_ROOT, 'deploy', script), 'utf8')).toMatch(/^#!\/bin\/sh/);
    }
    const ns = readFileSync(join(PROJECT_ROOT, 'deploy', 'temporal-create-namespace.sh'), 'utf8');
    // The script's literal list is exactly the TypeScript one (temporal/search-attributes.ts).
    const listed = /^for sa in (.+); do$/m.exec(ns)?.[1]?.split(' ');
    expect(listed).toEqual(SEARCH_ATTRIBUTE_CLI_TYPES.map(([name, type]) => `${name}:${type}`));
    // The server's dynamic config file is mounted where DYNAMIC_CONFIG_FILE_PATH points.
    const temporal = services.temporal!;
    const mount = temporal.volumes!.find((v) => v.startsWith('./deploy/dynamicconfig.yaml:'))!;
    expect(mount.split(':')[1]).toBe(temporal.environment!.DYNAMIC_CONFIG_FILE_PATH);
    expect(readFileSync(join(PROJECT_ROOT, 'deploy', 'dynamicconfig.yaml'), 'utf8')).toMatch(
      /^system\.enableActivityEagerExecution:\n {2}- value: true$/m,
    );
    // Temporal and the app share one PostgreSQL service.
    expect(services['temporal-schema']!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
  });
});
