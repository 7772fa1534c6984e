// A school's safety-hold thresholds: their one shape, their defaults, and how they are read from and written to its row.
import type { Integration, IntegrationsTable } from '../types.js';
import type { Updateable } from 'kysely';

/** When a commit waits for a person instead of writing (services/safety-hold.ts applies them). */
export interface SafetySettings {
  enabled: boolean;
  /** Departures above this share of the active students hold the commit (0–100). */
  maxDepartedPercent: number;
  /** Updates of active students above this share hold the commit (0–100). */
  maxUpdatedPercent: number;
  /** Schools with fewer active students are never held (small numbers swing wildly). */
  minStudents: number;
  /** Days a held run waits before it is discarded. */
  holdDays: number;
}

/** The contract's defaults; the migration's column defaults say the same (a migration never changes). */
export const DEFAULT_SAFETY: SafetySettings = {
  enabled: true,
  maxDepartedPercent: 10,
  maxUpdatedPercent: 75,
  minStudents: 20,
  holdDays: 7,
};

export function safetyOf(row: Integration): SafetySettings {
  return {
    enabled: row.safety_enabled,
    maxDepartedPercent: row.safety_max_departed_percent,
    maxUpdatedPercent: row.safety_max_updated_percent,
    minStudents: row.safety_min_students,
    holdDays: row.safety_hold_days,
  };
}

export function safetyColumns(s: SafetySettings): Updateable<IntegrationsTable> {
  return {
    safety_enabled: s.enabled,
    safety_max_departed_percent: s.maxDepartedPercent,
    safety_max_updated_percent: s.maxUpdatedPercent,
    safety_min_students: s.minStudents,
    safety_hold_days: s.holdDays,
  };
}
