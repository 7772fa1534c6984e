// A held run's decision from the API: approve or discard by a person, or discard when its integration is deleted.
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { heldRunOf } from '../db/queries/run-hold.js';
import { decideHold } from '../temporal/hold-decision.js';

/**
 * Deleting an integration ends its held run `discarded` (INTEGRATION_DELETED): nobody could
 * approve a school that no longer syncs. Best effort: when Temporal does not take it, the run
 * stays held until it expires (still discarded, nothing written) and the failure is logged.
 */
export async function discardHeldRunOfDeletedIntegration(
  deps: { db: Db; temporal: Client; log: { warn(obj: object, msg: string): void } },
  schoolId: string,
): Promise<void> {
  const runId = await heldRunOf(deps.db, schoolId);
  if (!runId) return;
  const outcome = await decideHold(deps.temporal, runId, { decision: 'discard', code: 'INTEGRATION_DELETED' }).catch(
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  if (outcome !== 'accepted' && outcome !== 'not_held') {
    deps.log.warn({ schoolId, runId, outcome }, 'could not discard the held run of a deleted integration');
  }
}
