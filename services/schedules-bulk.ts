// Bulk pause and resume (summer rollover): one database write for every school, then their schedules in line.
import { ScheduleNotFoundError } from '@temporalio/client';
import pMap from 'p-map';
import { bulkPauseIntegrations, bulkResumeIntegrations, type BulkTarget } from '../db/queries/bulk-pause.js';
import { getSettingsVersion } from '../db/queries/integrations.js';
import type { Integration } from '../db/types.js';
import { patchScheduleState } from '../temporal/schedules.js';
import { alignSchedule, scheduleSettingsOf, type ScheduleDeps } from './schedules.js';
import type { Log } from '../logging/log.js';

/**
 * How many schedules are patched at once after a bulk write: each is one Temporal call and one
 * version read; 16 in flight keeps hundreds of schools within seconds without flooding a shared
 * Temporal frontend.
 */
export const BULK_ALIGN_CONCURRENCY = 16;

/**
 * Brings the changed schools' schedules in line. A bulk write changes only the paused state and
 * note, so each schedule gets one pause/unpause patch with its note (no describe); a school without
 * a schedule, or whose settings moved meanwhile, goes through the full alignSchedule. As with a
 * per-school write, the database write stands when Temporal fails for a school (logged; the
 * worker's next reconcile pass repairs it).
 */
async function alignChanged(deps: ScheduleDeps & { logger: Log }, rows: Integration[]) {
  await pMap(
    rows,
    async (row) => {
      try {
        try {
          await patchScheduleState(deps.client, scheduleSettingsOf(row));
        } catch (err) {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
          await alignSchedule(deps, row.school_id);
          return;
        }
        if ((await getSettingsVersion(deps.db, row.school_id)) !== row.settings_version) {
          await alignSchedule(deps, row.school_id);
        }
      } catch (err) {
        deps.logger.error(
          {
            schoolId: row.school_id,
            err: err instanceof Error ? { name: err.name, message: err.message } : String(err),
          },
          'schedule update failed after a bulk write; the next reconcile will repair it',
        );
      }
    },
    { concurrency: BULK_ALIGN_CONCURRENCY },
  );
}

export async function bulkPause(
  deps: ScheduleDeps & { logger: Log },
  target: BulkTarget,
  note: string | null,
): Promise<{ paused: number; notFound: string[] }> {
  const result = await bulkPauseIntegrations(deps.db, target, note);
  await alignChanged(deps, result.changed);
  deps.logger.info(
    { schools: result.found.length, changed: result.changed.length, notFound: result.notFound.length },
    'bulk pause',
  );
  return { paused: result.found.length, notFound: result.notFound };
}

export async function bulkResume(
  deps: ScheduleDeps & { logger: Log },
  target: BulkTarget,
): Promise<{ resumed: number; notFound: string[] }> {
  const result = await bulkResumeIntegrations(deps.db, target);
  await alignChanged(deps, result.changed);
  deps.logger.info(
    { schools: result.found.length, changed: result.changed.length, notFound: result.notFound.length },
    'bulk resume',
  );
  return { resumed: result.found.length, notFound: result.notFound };
}
