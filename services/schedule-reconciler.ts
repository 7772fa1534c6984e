// The periodic, fleet-wide schedule reconcile: one pass at a time under a PostgreSQL advisory lock.
import type { Config } from '../config.js';
import { withTryAdvisoryLock } from '../db/session-lock.js';
import { reconcileSchedules, warnDaylightSavingClashes, type ReconcileResult, type ScheduleDeps } from './schedules.js';
import type { Log } from '../logging/log.js';

/**
 * The periodic schedule reconcile: every SCHEDULE_RECONCILE_INTERVAL the worker brings every
 * school's schedule in line with the database, so a schedule left wrong by a failed Temporal call
 * during an API write, or an orphan left by a DELETE, is repaired within one interval.
 *
 * One reconciler for the whole fleet, however many workers (and API starts) there are: a pass runs
 * under a PostgreSQL advisory lock per namespace, taken with try-lock on a connection of its own
 * and held only for the pass; a process that finds it taken skips its turn. We chose the lock over
 * a singleton Temporal workflow because it needs nothing registered on the task queue (no extra
 * workflow to version and deploy with the sync), the interval is each process's own configuration,
 * and a crashed holder frees it at once (its connection closes).
 */

export type ReconcilerDeps = ScheduleDeps & {
  config: Pick<Config, 'temporal' | 'databaseUrl'>;
  logger: Log;
  concurrency?: number;
  /** Only these schools (tests). Default: all. */
  schoolFilter?: (schoolId: string) => boolean;
};

/** The lock's name: one reconciler per database and Temporal namespace. */
function lockName(config: Pick<Config, 'temporal'>): string {
  return `powerschool-sync schedule reconciler ${config.temporal.namespace}`;
}

/** One pass, unless another process is running one: then 'skipped', at once. */
export async function reconcileSchedulesExclusively(
  deps: ReconcilerDeps & { signal?: AbortSignal },
): Promise<ReconcileResult | 'skipped'> {
  const locked = await withTryAdvisoryLock(
    deps.config.databaseUrl,
    lockName(deps.config),
    (lost) => reconcileSchedules({ ...deps, signal: deps.signal ? AbortSignal.any([deps.signal, lost]) : lost }),
    { applicationName: 'powerschool-sync-reconciler' },
  );
  return locked.acquired ? locked.value : 'skipped';
}

export interface ScheduleReconciler {
  /** Stops the timer and the pass in flight (between schools), and waits for it. */
  stop(): Promise<void>;
}

/**
 * Runs a pass now and then every `intervalMs` after the previous one ends (passes of one process
 * never overlap). A failed pass is logged; the next one runs on time.
 */
export function startScheduleReconciler(deps: ReconcilerDeps & { intervalMs: number }): ScheduleReconciler {
  const { logger } = deps;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const pass = async () => {
    try {
      const result = await reconcileSchedulesExclusively({ ...deps, signal: stopping.signal });
      if (result === 'skipped') {
        logger.debug({}, 'schedule reconcile skipped: another process is running one');
      }
    } catch (err) {
      if (stopping.signal.aborted) return;
      logger.error(
        { err: err instanceof Error ? { name: err.name, message: err.message } : String(err) },
        'schedule reconcile pass failed; the next one runs in one interval',
      );
    }
  };
  // Once per process start, not every pass: stored schedules that daylight saving will skip or double.
  void warnDaylightSavingClashes(deps.db, logger).catch((err: unknown) =>
    logger.error(
      { err: err instanceof Error ? err.message : String(err) },
      'daylight-saving check of stored schedules failed',
    ),
  );
  const loop = () => {
    inFlight = pass().finally(() => {
      if (stopping.signal.aborted) return;
      timer = setTimeout(loop, deps.intervalMs);
      // The worker's own work keeps the process alive; this timer must not.
      timer.unref();
    });
  };
  loop();

  return {
    async stop() {
      stopping.abort(new Error('schedule reconciler stopped'));
      clearTimeout(timer);
      await inFlight;
    },
  };
}
