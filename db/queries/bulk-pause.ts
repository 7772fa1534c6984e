// Bulk pause and resume of many schools' integrations in one statement each (summer rollover).
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { Integration } from '../types.js';

/** Which schools a bulk call names: a list of ids, or every school. */
export type BulkTarget = { schoolIds: string[] } | { all: true };

export interface BulkWriteResult {
  /** The schools named (or, for `all`, matched) that have an integration. */
  found: string[];
  /** The rows this call changed: their schedules need aligning. */
  changed: Integration[];
  /** Named ids without an integration (always empty for `all`). */
  notFound: string[];
}

const nextSettingsVersion = () => sql<string>`nextval('integrations_settings_version_seq')`;

function outcome(target: BulkTarget, found: string[], changed: Integration[]): BulkWriteResult {
  const have = new Set(found);
  const notFound = 'schoolIds' in target ? [...new Set(target.schoolIds)].filter((id) => !have.has(id)) : [];
  return { found: [...have].sort(), changed, notFound };
}

/**
 * Pauses the named schools (or all) with a note. An active school, or one a bulk pause already
 * holds, ends inactive with the note and the bulk mark; a school someone paused on its own is left
 * as it is (still paused, no note), so a later bulk resume of `all` does not wake it. Unchanged
 * rows keep updated_at and their settings version.
 */
export async function bulkPauseIntegrations(db: Db, target: BulkTarget, note: string | null): Promise<BulkWriteResult> {
  return db.transaction().execute(async (trx) => {
    let named = trx.selectFrom('integrations').select('school_id');
    if ('schoolIds' in target) named = named.where('school_id', 'in', target.schoolIds);
    const found = (await named.execute()).map((r) => r.school_id);
    if (found.length === 0) return outcome(target, [], []);
    const changed = await trx
      .updateTable('integrations')
      .set({
        active: false,
        pause_note: note,
        paused_in_bulk: true,
        updated_at: sql`now()`,
        settings_version: nextSettingsVersion(),
      })
      .where('school_id', 'in', found)
      .where((eb) =>
        eb.or([
          eb('active', '=', true),
          eb.and([eb('paused_in_bulk', '=', true), eb('pause_note', 'is distinct from', note)]),
        ]),
      )
      .returningAll()
      .execute();
    return outcome(target, found, changed);
  });
}

/**
 * Resumes the named schools, each as its own resume would (active, note and mark cleared), or with
 * `all` only the schools a bulk pause holds.
 */
export async function bulkResumeIntegrations(db: Db, target: BulkTarget): Promise<BulkWriteResult> {
  return db.transaction().execute(async (trx) => {
    let named = trx.selectFrom('integrations').select('school_id');
    named =
      'schoolIds' in target
        ? named.where('school_id', 'in', target.schoolIds)
        : named.where('paused_in_bulk', '=', true);
    const found = (await named.execute()).map((r) => r.school_id);
    if (found.length === 0) return outcome(target, [], []);
    const changed = await trx
      .updateTable('integrations')
      .set({
        active: true,
        pause_note: null,
        paused_in_bulk: false,
        updated_at: sql`now()`,
        settings_version: nextSettingsVersion(),
      })
      .where('school_id', 'in', found)
      .where((eb) =>
        eb.or([eb('active', '=', false), eb('pause_note', 'is not', null), eb('paused_in_bulk', '=', true)]),
      )
      .returningAll()
      .execute();
    return outcome(target, found, changed);
  });
}
