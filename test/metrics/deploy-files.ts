import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/** The queries of deploy/grafana and deploy/prometheus, for tests that check them against what we export. */

export const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr?: string }>;
}

export function dashboard(): { title: string; panels: Panel[] } {
  return JSON.parse(readFileSync(`${DEPLOY}grafana/powerschool-sync.json`, 'utf8')) as {
    title: string;
    panels: Panel[];
  };
}

export interface AlertRule {
  alert: string;
  expr: string;
}

export function alertRules(): AlertRule[] {
  const doc = parseYaml(readFileSync(`${DEPLOY}prometheus/alerts.yml`, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** Every query of the dashboard, with the title of its panel. */
export function dashboardQueries(): Array<{ panel: string; expr: string }> {
  return dashboard()
    .panels.filter((p) => p.type !== 'row')
    .flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));
}

/** The series a PromQL expression names (ours and the Temporal SDK's). */
export function seriesNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:powerschool_sync|temporal)_[a-z0-9_]+\b/g) ?? [])];
}
