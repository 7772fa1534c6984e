// Which optional fields a school switched on since its previous commit: their first values are fills, not updates.
import type { Db } from '../db/connection.js';
import { getPreviousCommitSettings } from '../db/queries/runs.js';
import type { RunSettings } from '../db/queries/run-settings.js';
import type { Run } from '../db/types.js';

export interface NewlySynced {
  dateOfBirth: boolean;
  gender: boolean;
  gradeLevel: boolean;
}

/**
 * A field is newly synced when this run syncs it and the school's previous commit did not (a
 * commit from before grade level existed did not sync it). Without an earlier commit nothing is:
 * a first commit only creates.
 */
export async function newlySyncedFields(db: Db, run: Run, settings: RunSettings): Promise<NewlySynced> {
  const previous = await getPreviousCommitSettings(db, run.school_id, run.id);
  const on = settings.mapping;
  const before = previous?.mapping;
  return {
    dateOfBirth: Boolean(before && on.dateOfBirth && !before.dateOfBirth),
    gender: Boolean(before && on.gender && !before.gender),
    gradeLevel: Boolean(before && on.gradeLevel && !before.gradeLevel),
  };
}
