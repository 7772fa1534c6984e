// Scheduled fires that came due and started no sync: recorded once each, counted for the metrics.
import type { Db } from '../connection.js';

/** Records a missed fire; false when it was already recorded (every reconcile pass may see it again). */
export async function recordMissedScheduledRun(db: Db, schoolId: string, nominalAt: Date): Promise<boolean> {
  const res = await db
    .insertInto('missed_scheduled_runs')
    .values({ school_id: schoolId, nominal_at: nominalAt })
    .onConflict((oc) => oc.columns(['school_id', 'nominal_at']).doNothing())
    .returning('school_id')
    .executeTakeFirst();
  return res !== undefined;
}

/** Every missed fire recorded so far (`powerschool_sync_missed_scheduled_runs_total`): it only grows. */
export async function countMissedScheduledRuns(db: Db): Promise<number> {
  const row = await db
    .selectFrom('missed_scheduled_runs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
