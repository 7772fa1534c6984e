import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connection.js';
import type { SyncStudentsResult } from '../../workflows/types.js';
import type { ApiProcess } from './api.js';
import { BENCH_SCOPE, type SimulatorProcess } from './simulator.js';

/** Schools and runs, the way Cialfo's backend drives them: through the public HTTP API. */

/** What every benchmark school syncs: the DCID as its PowerSchool ID, date of birth and gender. */
export const BENCH_MAPPING = { powerschoolId: 'DCID', dateOfBirth: true, gender: true } as const;

export async function putSchool(api: ApiProcess, schoolId: string, sim: SimulatorProcess): Promise<void> {
  await api.call('PUT', `/v1/schools/${schoolId}/integration`, {
    powerschool: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
    active: true,
    testRun: false,
    notifications: { enabled: false, recipients: [] },
    grades: { from: BENCH_SCOPE.gradeFrom, to: BENCH_SCOPE.gradeTo },
    mapping: BENCH_MAPPING,
    // Once a year on 1 January: the schedule exists (as in production) but never fires during a bench.
    schedule: { cron: '0 2 1 1 *', timezone: 'UTC' },
  });
}

export interface FinishedRun {
  runId: string;
  result: SyncStudentsResult;
  /** Trigger (POST sent) → workflow result received, seconds. */
  wallSeconds: number;
  /** The run row's own finished_at − started_at, seconds. */
  rowSeconds: number;
  status: string;
}

/** POST /runs (commit), then waits for the workflow's result through Temporal. */
export async function triggerAndWait(
  api: ApiProcess,
  temporal: Client,
  db: Db,
  schoolId: string,
): Promise<FinishedRun> {
  const started = performance.now();
  const run = await api.call<{ id: string }>('POST', `/v1/schools/${schoolId}/runs`, { testRun: false });
  return waitForRun(temporal, db, run.id, started);
}

export async function waitForRun(temporal: Client, db: Db, runId: string, startedAt: number): Promise<FinishedRun> {
  const result = (await temporal.workflow.getHandle(runId).result()) as SyncStudentsResult;
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const row = await db
    .selectFrom('runs')
    .select(['status', 'started_at', 'finished_at'])
    .where('id', '=', runId)
    .executeTakeFirstOrThrow();
  const rowSeconds =
    row.finished_at === null
      ? NaN
      : (new Date(row.finished_at as unknown as Date).getTime() -
          new Date(row.started_at as unknown as Date).getTime()) /
        1000;
  return { runId, result, wallSeconds, rowSeconds, status: row.status };
}

export interface ActivityTiming {
  count: number;
  /** Sum of started → completed, seconds (the activity's own work, retries' failed attempts excluded). */
  runSeconds: number;
  /** Sum of scheduled → started, seconds (waiting for a worker slot / task dispatch). */
  queueSeconds: number;
}

/**
 * Where a run's time went, from its workflow histories (every execution of a run that continued
 * as new, walked back from the last one): per activity type, how long the activities ran and
 * waited. What remains of the wall time is workflow tasks and Temporal round trips.
 */
export async function activityTimings(temporal: Client, runId: string): Promise<Record<string, ActivityTiming>> {
  const out: Record<string, ActivityTiming> = {};
  let executionRunId: string | undefined = undefined;
  for (let executions = 0; executions < 100; executions++) {
    const history: History = await temporal.workflow.getHandle(runId, executionRunId).fetchHistory();
    addTimings(history, out);
    const previous: string | null | undefined =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) break;
    executionRunId = previous;
  }
  return out;
}

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

function addTimings(history: History, out: Record<string, ActivityTiming>): void {
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN;
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    const at = ms(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
    } else if (e.activityTaskStartedEventAttributes) {
      started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    } else if (e.activityTaskCompletedEventAttributes) {
      const sid = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const s = scheduled.get(sid);
      const st = started.get(sid);
      if (!s || st === undefined) continue;
      const t = (out[s.type] ??= { count: 0, runSeconds: 0, queueSeconds: 0 });
      t.count++;
      t.runSeconds += (at - st) / 1000;
      t.queueSeconds += (st - s.at) / 1000;
    }
  }
}
