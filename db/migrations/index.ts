// Every migration, in order, by name.
import type { Migration } from 'kysely';
import * as initial from './2026_11_28_0001_initial.js';
import * as runAppliedAt from './2026_11_28_0100_run_applied_at.js';
import * as apiListingIndexes from './2026_11_28_0200_api_listing_indexes.js';
import * as departedStudents from './2026_11_28_0300_departed_students.js';
import * as integrationSettingsVersion from './2026_11_28_0400_integration_settings_version.js';
import * as schedulePauseNoteBlackouts from './2026_11_28_0500_schedule_pause_note_blackouts.js';
import * as round2Statuses from './2026_11_30_0100_round2_statuses.js';
import * as districts from './2026_11_30_0200_districts.js';
import * as safetyHold from './2026_11_30_0300_safety_hold.js';
import * as matching from './2026_11_30_0400_matching.js';
import * as bulkRowsWithoutRunKey from './2026_11_30_0500_bulk_rows_without_run_key.js';

/**
 * Every migration, by name. Names sort in apply order; add new files at the end and never edit
 * one that has shipped. A static list (rather than reading the folder) works the same under tsx,
 * vitest and a bundler.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_28_0001_initial': initial,
  '2026_11_28_0100_run_applied_at': runAppliedAt,
  '2026_11_28_0200_api_listing_indexes': apiListingIndexes,
  '2026_11_28_0300_departed_students': departedStudents,
  '2026_11_28_0400_integration_settings_version': integrationSettingsVersion,
  '2026_11_28_0500_schedule_pause_note_blackouts': schedulePauseNoteBlackouts,
  '2026_11_30_0100_round2_statuses': round2Statuses,
  '2026_11_30_0200_districts': districts,
  '2026_11_30_0300_safety_hold': safetyHold,
  '2026_11_30_0400_matching': matching,
  '2026_11_30_0500_bulk_rows_without_run_key': bulkRowsWithoutRunKey,
};
