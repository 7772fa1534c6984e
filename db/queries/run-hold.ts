// A held commit's row and changes: what counts toward the hold, holding it, and its approve or discard.
import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import type { Database, HoldReason, Run } from '../types.js';
import { applyRecordedChanges, inDiffTransaction, recordedBefore } from './run-diff.js';
import { runCountsOf, type RunCounts } from './run-counts.js';
import { RunEndedError } from './staging.js';

type Tx = Transaction<Database>;

export interface RunRefInSchool {
  runId: string;
  schoolId: string;
}

/**
 * The changes of a recorded (not yet applied) commit that count toward the hold, or null when the
 * school has no earlier commit (a first commit is never held). `updates` counts `update` changes
 * of students whose status is `active` that are more than a fill (a first schoolNumber, a field just
 * switched on); departed students coming back and links are other changes.
 */
export async function countHoldChanges(
  tx: Tx,
  o: RunRefInSchool,
): Promise<{ departed: number; updates: number } | null> {
  const { rows } = await sql<{ committed_before: boolean; departed: number; updates: number }>`
    select
      exists (select 1 from runs r
              where r.school_id = ${o.schoolId} and not r.test_run and r.applied_at is not null
                and r.id <> ${o.runId}) as committed_before,
      (select count(*) from run_changes c where c.run_id = ${o.runId} and c.type = 'depart')::int as departed,
      (select count(*) from run_changes c
         join students st on st.school_id = ${o.schoolId} and st.dcid = c.dcid
        where c.run_id = ${o.runId} and c.type = 'update' and st.status = 'active' and not c.fill)::int as updates
  `.execute(tx);
  const r = rows[0]!;
  return r.committed_before ? { departed: r.departed, updates: r.updates } : null;
}

/** The hold's base: the school's students with status `active` now (never `unlinked` or `departed`). */
export async function countActiveStudents(tx: Tx, schoolId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from students where school_id = ${schoolId} and status = 'active'
  `.execute(tx);
  return rows[0]!.n;
}

/** Marks a running commit held: its reasons, when, and when it is discarded unless decided. */
export async function markRunHeld(tx: Tx, runId: string, reasons: HoldReason[], holdMs: number): Promise<void> {
  await tx
    .updateTable('runs')
    .set({
      status: 'held',
      hold_reasons: JSON.stringify(reasons),
      held_at: sql<Date>`now()`,
      hold_expires_at: sql<Date>`now() + ${holdMs} * interval '1 millisecond'`,
    })
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .execute();
}

/** The run's hold as recorded, or null when it was never held. */
export interface RunHold {
  reasons: HoldReason[];
  heldAt: Date;
  expiresAt: Date;
}

export function holdOf(run: Pick<Run, 'hold_reasons' | 'held_at' | 'hold_expires_at'>): RunHold | null {
  if (!run.hold_reasons || !run.held_at || !run.hold_expires_at) return null;
  return { reasons: run.hold_reasons, heldAt: run.held_at, expiresAt: run.hold_expires_at };
}

/** Approved: the held run is running again (it keeps its run slot and its hold record). Idempotent. */
export async function resumeHeldRun(db: Db, runId: string): Promise<Run | undefined> {
  await db
    .updateTable('runs')
    .set({ status: 'running' })
    .where('id', '=', runId)
    .where('status', '=', 'held')
    .execute();
  return db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
}

/**
 * Ends a held run `discarded` (nothing was written), with the code of what discarded it (null: a
 * person did). Returns the row, and whether this call ended it (a retry finds it ended already).
 */
export async function discardHeldRun(
  db: Db,
  runId: string,
  error: { code: string; message: string } | null,
  notificationStatus: 'disabled' | 'pending',
): Promise<{ run: Run | undefined; ended: boolean }> {
  const ended = await db
    .updateTable('runs')
    .set({
      status: 'discarded',
      finished_at: sql<Date>`now()`,
      error_code: error?.code ?? null,
      error_message: error?.message ?? null,
      notification_status: notificationStatus,
    })
    .where('id', '=', runId)
    .where('status', '=', 'held')
    .executeTakeFirst();
  const run = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
  return { run, ended: Number(ended.numUpdatedRows) > 0 };
}

/** The school's held run, if any (at most one: it holds the run slot). */
export async function heldRunOf(db: Db, schoolId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('runs')
    .select('id')
    .where('school_id', '=', schoolId)
    .where('status', '=', 'held')
    .executeTakeFirst();
  return row?.id;
}

export type ApplyHeldOutcome = { outcome: 'applied'; counts: RunCounts } | { outcome: 'stale'; staleChanges: number };

export interface ApplyHeldOptions extends RunRefInSchool {
  syncDateOfBirth: boolean;
  syncGender: boolean;
  syncGradeLevel: boolean;
  matching: boolean;
  powerschoolIdMapping: 'DCID' | 'STUDENT_NUMBER';
  onStep?: () => void;
  signal?: AbortSignal;
}

/**
 * Applies an approved run's recorded changes, exactly those, in one transaction — or none when
 * any of them no longer matches the students table: an update whose `before` differs from the
 * stored student, or a create whose DCID now exists. PowerSchool is not read again: the staged
 * rows of the run are what was shown. Idempotent: an applied run returns its counts.
 */
export async function applyHeldChanges(db: Db, o: ApplyHeldOptions): Promise<ApplyHeldOutcome> {
  return inDiffTransaction(db, o.runId, o, async (tx, run, step) => {
    if (run.applied_at) return { outcome: 'applied', counts: runCountsOf(run) };
    if (run.status !== 'running') throw new RunEndedError(o.runId, run.status);
    // The students the changes touch, locked so none can change between this check and the writes.
    const stale = await countStaleChanges(tx, o);
    step();
    if (stale > 0) return { outcome: 'stale', staleChanges: stale };
    await applyRecordedChanges(tx, o, step);
    await tx
      .updateTable('runs')
      .set({ applied_at: sql<Date>`now()` })
      .where('id', '=', o.runId)
      .execute();
    return { outcome: 'applied', counts: runCountsOf(run) };
  });
}

async function countStaleChanges(tx: Tx, o: ApplyHeldOptions): Promise<number> {
  await sql`
    select 1 from students st
    join run_changes c on c.run_id = ${o.runId} and st.school_id = ${o.schoolId} and st.dcid = c.dcid
    for update of st
  `.execute(tx);
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n
    from run_changes c
    left join students st on st.school_id = ${o.schoolId} and st.dcid = c.dcid
    where c.run_id = ${o.runId}
      and (   (c.type = 'create' and st.id is not null)
           or (c.type in ('update', 'depart') and (st.id is null or c.before is distinct from ${recordedBefore(o)}))
           or (c.type = 'link' and not exists (
                 select 1 from students acc
                 where acc.id = (c.before ->> 'id')::uuid and acc.school_id = ${o.schoolId}
                   and acc.status = 'unlinked')))
  `.execute(tx);
  return rows[0]!.n;
}
