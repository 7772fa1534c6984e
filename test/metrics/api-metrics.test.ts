import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METRICS, createApiMetrics, listenMetrics, type MetricsServer } from '../../api/plugins/metrics.js';
import type { Db } from '../../db/connection.js';
import { recordMissedScheduledRun } from '../../db/queries/missed-runs.js';
import { testDb } from '../helpers/db.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { startTestApi, type TestApi } from '../api/support.js';
import { scrape, valueOf } from './scrape.js';

describe('API metrics', () => {
  let api: TestApi;
  let server: MetricsServer;
  let metricsDb: Db;
  const schoolId = uniqueSchoolId('metrics');

  beforeAll(async () => {
    metricsDb = testDb();
    const metrics = createApiMetrics(metricsDb);
    api = await startTestApi({ deps: { metrics } });
    server = await listenMetrics(metrics, '127.0.0.1', 0);
  });
  afterAll(async () => {
    await server?.close();
    await api?.close();
    await metricsDb?.destroy();
  });

  it('counts requests by route template and status, never by URL', async () => {
    expect((await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/integration` })).statusCode).toBe(404);
    expect((await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/integration` })).statusCode).toBe(404);
    expect((await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/runs` })).statusCode).toBe(200);
    expect((await api.req({ method: 'GET', url: `/no/such/${schoolId}` })).statusCode).toBe(404);
    expect((await api.req({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    const { text, samples } = await scrape(server.port);
    expect(text).not.toContain(schoolId);
    const requests = (route: string, status: string) =>
      valueOf(samples, API_METRICS.requests, { method: 'GET', route, status_code: status });
    expect(requests('/v1/schools/:schoolId/integration', '404')).toBe(2);
    expect(requests('/v1/schools/:schoolId/runs', '200')).toBe(1);
    expect(requests('unmatched', '404')).toBe(1);
    expect(requests('/healthz', '200')).toBe(1);
    expect(
      valueOf(samples, `${API_METRICS.requestDuration}_count`, {
        method: 'GET',
        route: '/v1/schools/:schoolId/integration',
        status_code: '404',
      }),
    ).toBe(2);
    // The metrics are not on the API's own port.
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
  });

  it('reads the fleet gauges from the database at each scrape', async () => {
    const first = (await scrape(server.port)).samples;
    const before = valueOf(first, API_METRICS.schoolsWithoutSuccess)!;
    const missedBefore = valueOf(first, API_METRICS.missedScheduledRuns)!;
    const heldBefore = valueOf(first, API_METRICS.heldRuns)!;
    const late = uniqueSchoolId('late');
    const fine = uniqueSchoolId('fine');
    for (const id of [late, fine]) {
      await api.db
        .insertInto('integrations')
        .values({
          school_id: id,
          server_url: 'https://district.powerschool.com',
          client_id: 'c',
          active: true,
          client_secret_encrypted: 'x',
          client_secret_key_id: 'k',
          grade_from: 9,
          grade_to: 12,
          created_at: sql<Date>`now() - interval '30 days'`,
        })
        .execute();
    }
    await api.db
      .insertInto('runs')
      .values({
        id: `powerschool-sync-${fine}-manual-1`,
        school_id: fine,
        trigger: 'manual',
        test_run: true,
        status: 'succeeded',
        started_at: sql<Date>`now() - interval '2 days'`,
      })
      .execute();
    // A success 9 days ago does not count.
    await api.db
      .insertInto('runs')
      .values({
        id: `powerschool-sync-${late}-manual-1`,
        school_id: late,
        trigger: 'manual',
        test_run: false,
        status: 'succeeded',
        started_at: sql<Date>`now() - interval '9 days'`,
      })
      .execute();

    // Two missed fires of one school, as the worker's reconcile pass records them (the second twice).
    const nominal = new Date('2027-01-03T02:00:00Z');
    await recordMissedScheduledRun(api.db, late, nominal);
    await recordMissedScheduledRun(api.db, late, new Date(nominal.getTime() + 7 * 86_400_000));
    await recordMissedScheduledRun(api.db, late, nominal);

    const { text, samples } = await scrape(server.port);
    expect(valueOf(samples, API_METRICS.schoolsWithoutSuccess)).toBe(before + 1);
    expect(valueOf(samples, API_METRICS.missedScheduledRuns)).toBe(missedBefore + 2);
    expect(text).toContain(`# TYPE ${API_METRICS.missedScheduledRuns} counter`);
    // Held runs: counted, and aged from their hold (not their start).
    await api.db
      .insertInto('runs')
      .values({
        id: `powerschool-sync-${late}-manual-held`,
        school_id: uniqueSchoolId('held'),
        trigger: 'manual',
        test_run: false,
        status: 'held',
        started_at: sql<Date>`now() - interval '400 days'`,
        held_at: sql<Date>`now() - interval '3 hours'`,
        hold_expires_at: sql<Date>`now() + interval '4 days'`,
        hold_reasons: '[]',
      })
      .execute();
    const held = (await scrape(server.port)).samples;
    expect(valueOf(held, API_METRICS.heldRuns)).toBe(heldBefore + 1);
    expect(valueOf(held, API_METRICS.oldestHeldRunAge)).toBeGreaterThanOrEqual(3 * 3600);
    expect(valueOf(held, API_METRICS.oldestHeldRunAge)).toBeLessThan(399 * 86_400);
  });
});
