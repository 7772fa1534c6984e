import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_API_METRICS_PORT, DEFAULT_WORKER_METRICS_PORT } from '../../config.js';
import { alertRules, dashboard, dashboardQueries, DEPLOY, seriesNames } from './deploy-files.js';

/**
 * deploy/prometheus: the rules and config pass promtool, and every alert fires on the series its
 * test feeds it. promtool comes from Debian's `prometheus` package (.ci/run installs it): without
 * it these tests fail, they do not skip.
 */
function promtool(...args: string[]): string {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (found.error) throw new Error('promtool is not installed: apt-get install -y prometheus (.ci/run installs it)');
  return execFileSync('promtool', args, { cwd: `${DEPLOY}prometheus`, encoding: 'utf8', stdio: 'pipe' });
}

describe('Prometheus rules', () => {
  it('promtool check config and check rules pass', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS: 7 rules found');
    expect(promtool('check', 'rules', 'alerts.yml')).toContain('SUCCESS');
  });

  it('promtool test rules: every alert fires on its series', () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
    const tests = parseYaml(readFileSync(`${DEPLOY}prometheus/alerts.test.yml`, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firing = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    const quiet = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)),
    );
    for (const { alert } of alertRules()) {
      expect(firing, `${alert} is never seen firing`).toContain(alert);
      expect(quiet, `${alert} is never seen quiet`).toContain(alert);
    }
  });
});

describe('Grafana dashboard', () => {
  it('parses, and every panel has a query that names a series', () => {
    const board = dashboard();
    expect(board.title).toBe('PowerSchool Sync');
    const panels = board.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(10);
    for (const p of panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
    for (const { panel, expr } of dashboardQueries()) expect(seriesNames(expr), panel).not.toEqual([]);
    // The list: runs by status, students by change, run duration, PowerSchool outcomes,
    // held runs, worker slots, schedule-to-start latency.
    const all = dashboardQueries()
      .map((q) => q.expr)
      .join('\n');
    for (const name of [
      'powerschool_sync_runs_total',
      'powerschool_sync_students_total',
      'powerschool_sync_run_duration_seconds_bucket',
      'powerschool_sync_powerschool_requests_total',
      'powerschool_sync_held_runs',
      'temporal_worker_task_slots_available',
      'temporal_activity_schedule_to_start_latency_bucket',
    ])
      expect(all).toContain(name);
  });
});

describe('docker-compose: Prometheus and Grafana', () => {
  const compose = parseYaml(readFileSync(`${DEPLOY}../docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
  };

  it('mount the files of deploy/, which exist', () => {
    const mounts = [...compose.services.prometheus!.volumes!, ...compose.services.grafana!.volumes!]
      .map((v) => v.split(':')[0]!)
      .filter((source) => source.startsWith('./'));
    expect(mounts).toEqual(
      expect.arrayContaining([
        './deploy/prometheus',
        './deploy/grafana/provisioning',
        './deploy/grafana/powerschool-sync.json',
      ]),
    );
    for (const source of mounts) expect(existsSync(`${DEPLOY}../${source}`), source).toBe(true);
  });

  it('scrape the API and the workers on their default metrics ports; Grafana reads that Prometheus', () => {
    const prometheus = parseYaml(readFileSync(`${DEPLOY}prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: { dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((c) =>
      c.dns_sd_configs.flatMap((d) => d.names.map((n) => `${n}:${d.port}`)),
    );
    expect(targets.sort()).toEqual([
      `api:${DEFAULT_API_METRICS_PORT}`,
      `worker-1:${DEFAULT_WORKER_METRICS_PORT}`,
      `worker-2:${DEFAULT_WORKER_METRICS_PORT}`,
    ]);
    for (const worker of ['worker-1', 'worker-2']) {
      const env = compose.services[worker]!.environment!;
      expect(env.HOST, worker).toBe('0.0.0.0');
      expect(env.WORKER_METRICS_PORT ?? String(DEFAULT_WORKER_METRICS_PORT), worker).toBe(
        String(DEFAULT_WORKER_METRICS_PORT),
      );
    }
    const datasources = parseYaml(readFileSync(`${DEPLOY}grafana/provisioning/datasources/prometheus.yml`, 'utf8')) as {
      datasources: { uid: string; url: string }[];
    };
    expect(datasources.datasources[0]!.url).toBe('http://prometheus:9090');
    const uids = new Set(
      dashboard()
        .panels.filter((p) => p.type !== 'row')
        .map((p) => (p as unknown as { datasource: { uid: string } }).datasource.uid),
    );
    expect([...uids]).toEqual([datasources.datasources[0]!.uid]);
  });
});
