// The lookupDepartures activity: asks PowerSchool, without the scope filter, about the students a run did not receive.
import type { EnrolmentFilter } from '../powerschool/client.js';
import { planDcidRanges, type DcidRange } from '../powerschool/dcid-ranges.js';
import {
  countUnaskedCandidates,
  markRangeAsked,
  nextUnaskedCandidates,
  recordEnrolments,
  stageDepartureCandidates,
  type LookupPass,
} from '../db/queries/departure-lookups.js';
import type { ActivityDeps, DepartureSource } from './deps.js';
import { openPowerSchool } from './powerschool-source.js';
import { adaptFailures } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { credentialsFor, loadRunContext } from './run-context.js';
import type { LookupDeparturesResult, RunRef } from './types.js';

/**
 * Each active student the run did not receive in scope is looked up by DCID: nearby DCIDs share
 * one range read (`dcid=ge=A;dcid=le=B`, keyset-paged like the main read, through the same
 * one-request-at-a-time slot). A district's records interleave, so a range holds other schools'
 * students too: the first pass reads only the records that are not enrolled (graduates,
 * transfers, inactive — most leavers, few records), the second reads whole ranges for the rest
 * (moved, deleted), which alone can say a record does not exist. Answers go to PostgreSQL; the
 * activity returns counts only. There is no cap: a year-end rollover asks about a quarter of a
 * school. Each call stops starting new ranges after about 10 s; the workflow calls again until
 * none is left, and a retry resumes at the first range its pass had not read to its end.
 */

const BUDGET_MS = 10_000;
/** A range read stays short enough to finish well inside one call's budget. */
const MAX_PAGES_PER_RANGE = 50;
/** Candidates planned per round (a round's ranges are read before the next is planned). */
const CANDIDATES_PER_ROUND = 5_000;

/** The reads of each pass over a range: the query has no "not equal", so two filters for "not enrolled". */
const PASS_FILTERS: Record<LookupPass, EnrolmentFilter[]> = {
  unenrolled: ['status-above-0', 'status-below-0'],
  any: ['all'],
};

export function makeLookupDepartures(deps: ActivityDeps) {
  return async function lookupDepartures({ runId }: RunRef): Promise<LookupDeparturesResult> {
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const ctx = await loadRunContext(deps.db, runId);
        await stageDepartureCandidates(deps.db, runId, ctx.run.school_id);
        if ((await countUnaskedCandidates(deps.db, runId)) === 0) return { lookedUp: 0, remaining: 0 };

        const source = openPowerSchool(
          deps,
          await credentialsFor(deps.db, deps.secretBox, ctx),
          deps.departureSourceFactory,
        );
        const serverMax = await source.getMaxPageSize();
        const pageSize = Math.max(1, Math.min(serverMax, deps.maxPageSize ?? serverMax));
        const started = Date.now();
        const inBudget = () => Date.now() - started < BUDGET_MS;
        let asked = 0;
        for (const pass of ['unenrolled', 'any'] as const) {
          let candidates = await nextUnaskedCandidates(deps.db, runId, pass, CANDIDATES_PER_ROUND);
          while (candidates.length > 0 && inBudget()) {
            for (const range of planDcidRanges(candidates, pageSize, MAX_PAGES_PER_RANGE)) {
              if (!inBudget()) break;
              for (const filter of PASS_FILTERS[pass]) await readRange(deps, runId, source, range, pageSize, filter);
              await markRangeAsked(deps.db, runId, range, pass);
              asked += candidates.filter((d) => inRange(d, range)).length;
            }
            candidates = await nextUnaskedCandidates(deps.db, runId, pass, CANDIDATES_PER_ROUND);
          }
        }
        return { lookedUp: asked, remaining: await countUnaskedCandidates(deps.db, runId) };
      }),
    );
  };
}

async function readRange(
  deps: ActivityDeps,
  runId: string,
  source: DepartureSource,
  range: DcidRange,
  pageSize: number,
  filter: EnrolmentFilter,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const page = await source.fetchEnrolmentsInRange(range, after, pageSize, filter);
    await recordEnrolments(deps.db, runId, page.enrolments);
    const last = page.enrolments.at(-1)?.dcid ?? null;
    // A short page ends the range; so does a full page with no readable DCID to continue from.
    if (page.rows < pageSize || last === null) break;
    after = last;
  }
}

function inRange(dcid: string, range: DcidRange): boolean {
  const d = BigInt(dcid);
  return d >= BigInt(range.from) && d <= BigInt(range.to);
}
