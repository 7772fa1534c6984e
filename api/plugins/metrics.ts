import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../../db/connection.js';
import { activeSchoolsWithoutSuccess, heldRuns } from '../../db/queries/fleet-metrics.js';
import { countMissedScheduledRuns } from '../../db/queries/missed-runs.js';

/**
 * The API's Prometheus metrics, served on a port of their own (API_METRICS_PORT), never on the
 * API's: scraping needs no bearer token, and the metrics say nothing to Cialfo's backend.
 *
 * HTTP requests are labelled by route template (`/v1/schools/:schoolId/runs`), never by the URL:
 * a school id in a label would be an unbounded series count and a leak. The fleet gauges are
 * read from the database at each scrape; only the API exports them, so two workers or a restart
 * cannot double or reset them.
 */

export const API_METRICS = {
  requests: 'powerschool_sync_api_requests_total',
  requestDuration: 'powerschool_sync_api_request_duration_seconds',
  heldRuns: 'powerschool_sync_held_runs',
  oldestHeldRunAge: 'powerschool_sync_oldest_held_run_age_seconds',
  schoolsWithoutSuccess: 'powerschool_sync_active_schools_without_success_8d',
  missedScheduledRuns: 'powerschool_sync_missed_scheduled_runs_total',
} as const;

/** The route label of requests that matched no route (404s, 405s): one series, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface ApiMetrics {
  registry: Registry;
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
}

export function createApiMetrics(db: Db, logger?: Pick<Logger, 'warn'>): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: API_METRICS.requests,
    help: 'HTTP requests answered by the API, by route template and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: API_METRICS.requestDuration,
    help: 'Time to answer an HTTP request, by route template and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  /**
   * A gauge read at scrape time. When the database cannot answer, the gauge reads NaN (unknown):
   * never a stale or made-up number, and the rest of the scrape still goes out.
   */
  const fromDb = (name: string, help: string, read: () => Promise<number>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        try {
          this.set(await read());
        } catch (err) {
          logger?.warn({ err, metric: name }, 'could not read a fleet metric from the database');
          this.set(Number.NaN);
        }
      },
    });
  fromDb(
    API_METRICS.heldRuns,
    'Runs waiting for a person to approve or discard them',
    async () => (await heldRuns(db)).count,
  );
  fromDb(
    API_METRICS.oldestHeldRunAge,
    'Age of the oldest held run (0 when none is held)',
    async () => (await heldRuns(db)).oldestAgeSeconds,
  );
  fromDb(
    API_METRICS.schoolsWithoutSuccess,
    'Active integrations (older than 8 days) without a successful run in the last 8 days',
    () => activeSchoolsWithoutSuccess(db),
  );
  // Every scheduled fire that came due and started no sync, as the worker's reconcile pass records
  // them (missed_scheduled_runs): a count that only grows, so a counter Prometheus can take increase() of.
  new Counter({
    name: API_METRICS.missedScheduledRuns,
    help: 'Scheduled fires that came due and started no sync (overlap, paused or unreachable server, skipped)',
    registers: [registry],
    async collect() {
      try {
        const recorded = await countMissedScheduledRuns(db);
        this.reset();
        this.inc(recorded);
      } catch (err) {
        // A counter cannot read NaN: it keeps its last value, and the warning says why.
        logger?.warn(
          { err, metric: API_METRICS.missedScheduledRuns },
          'could not read a fleet metric from the database',
        );
      }
    },
  });

  return {
    registry,
    observeRequest({ method, route, status }, seconds) {
      const labels = { method, route, status_code: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}

/**
 * Counts every answer of the app it is registered on (404s and errors included). Registered at
 * the root, not encapsulated (skip-override), so the hook sees every route.
 */
export const httpMetrics: FastifyPluginAsync<{ metrics: ApiMetrics }> = async (app, { metrics }) => {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(
      { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });
};
(httpMetrics as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** The Prometheus endpoint: GET /metrics on its own HTTP server. */
export async function listenMetrics(metrics: ApiMetrics, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect metrics\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
