import type { MetricMeter } from '@temporalio/common';
import type { TelemetryOptions } from '@temporalio/worker';
import type { EndedRun, SyncMetrics } from '../activities/metrics.js';
import { POWERSCHOOL_REQUEST_OUTCOMES, type PowerSchoolRequestOutcome } from '../powerschool/request-outcome.js';

/**
 * The worker's Prometheus endpoint is the Temporal SDK's own exporter (Runtime.install, before
 * any Worker.create): it serves the SDK's metrics (task slots, schedule-to-start latency, …,
 * prefixed `temporal_`) and ours, created on the runtime's metric meter, which it exports under
 * the names we give them. One endpoint, one scrape target per worker.
 *
 * The exporter already puts `service_name` on the SDK's series: our metrics never add a label of
 * that name, and no globalTags are set, since a duplicated label makes Prometheus reject the
 * whole scrape.
 */

export const WORKER_METRICS = {
  runs: 'powerschool_sync_runs_total',
  students: 'powerschool_sync_students_total',
  runDuration: 'powerschool_sync_run_duration_seconds',
  powerSchoolRequests: 'powerschool_sync_powerschool_requests_total',
} as const;

/** The statuses a run ends in (more may come; they are counted when they occur). */
const RUN_END_STATUSES = ['succeeded', 'failed', 'cancelled', 'skipped', 'discarded'];

/** What a committed run writes, by run_changes type. */
const STUDENT_CHANGES = ['create', 'update', 'link', 'depart'];

/** Runs last from seconds (a small school) to an hour (a district's first commit). */
export const RUN_DURATION_BUCKETS_SECONDS = [10, 30, 60, 300, 900, 1800, 3600];

/** Runtime.install's telemetry for a worker serving Prometheus on `host:port`. */
export function prometheusTelemetry(host: string, port: number): TelemetryOptions {
  return {
    metrics: {
      prometheus: {
        bindAddress: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        // The SDK's durations in seconds, as Prometheus conventions and our dashboards expect.
        useSecondsForDurations: true,
        // The SDK's default buckets are for milliseconds.
        histogramBucketOverrides: { [WORKER_METRICS.runDuration]: RUN_DURATION_BUCKETS_SECONDS },
      },
    },
  };
}

/** SyncMetrics on a Temporal metric meter (Runtime.instance().metricMeter in the worker). */
export function createSyncMetrics(meter: MetricMeter): SyncMetrics {
  const runs = meter.createCounter(WORKER_METRICS.runs, undefined, 'Sync runs that ended, by final status');
  const students = meter.createCounter(WORKER_METRICS.students, undefined, 'Students written by committed runs');
  const duration = meter.createHistogram(WORKER_METRICS.runDuration, 'float', 's', 'Sync run duration, start to end');
  const requests = meter.createCounter(
    WORKER_METRICS.powerSchoolRequests,
    undefined,
    'HTTP requests to PowerSchool, by outcome',
  );
  // Every series starts at 0, so the first failure or 429 is an increase Prometheus can see (a
  // series that appears at 1 has no earlier sample to rise from) and the dashboards show zeros.
  for (const status of RUN_END_STATUSES)
    for (const trigger of ['schedule', 'manual'])
      for (const testRun of ['true', 'false']) runs.add(0, { status, trigger, test_run: testRun });
  for (const change of STUDENT_CHANGES) students.add(0, { change });
  for (const outcome of POWERSCHOOL_REQUEST_OUTCOMES) requests.add(0, { outcome });

  return {
    runEnded(run: EndedRun) {
      runs.add(1, { status: run.status, trigger: run.trigger, test_run: String(run.testRun) });
      for (const [change, count] of Object.entries(run.students)) if (count) students.add(count, { change });
      if (run.durationSeconds !== null) duration.record(run.durationSeconds);
    },
    powerSchoolRequest(outcome: PowerSchoolRequestOutcome) {
      requests.add(1, { outcome });
    },
  };
}
