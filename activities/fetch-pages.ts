// The planRun and fetchPage activities: PowerSchool page by page into the run's staging tables.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { normalisePage } from '../powerschool/normalise-page.js';
import { schoolPasses } from '../powerschool/scope.js';
import { getProgressTotals, recordPlan, stagePage } from '../db/queries/staging.js';
import type { ActivityDeps, StudentSource } from './deps.js';
import { openPowerSchool } from './powerschool-source.js';
import { adaptFailures } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { credentialsFor, loadRunContext, scopeOf, type RunContext } from './run-context.js';
import type { FetchPageInput, FetchPageResult, PlanRunResult, RunRef } from './types.js';

/**
 * planRun and fetchPage: reading PowerSchool page by page into the run's staging tables.
 * Each page is its own activity, so a retry resumes at that page, not at page 1.
 */

async function sourceFor(deps: ActivityDeps, ctx: RunContext): Promise<StudentSource> {
  return openPowerSchool(deps, await credentialsFor(deps.db, deps.secretBox, ctx), deps.powerschoolClientFactory);
}

export function makePlanRun(deps: ActivityDeps) {
  return async function planRun({ runId }: RunRef): Promise<PlanRunResult> {
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const ctx = await loadRunContext(deps.db, runId);
        const source = await sourceFor(deps, ctx);
        const serverMax = await source.getMaxPageSize();
        const pageSize = Math.max(1, Math.min(serverMax, deps.maxPageSize ?? serverMax));
        // One count per school pass, so the pages a pass's short last page adds are counted.
        const passes = schoolPasses(scopeOf(ctx.settings));
        let recordsTotal = 0;
        let pagesTotal = 0;
        for (const pass of passes) {
          const count = await source.countStudents(pass);
          recordsTotal += count;
          pagesTotal += Math.ceil(count / pageSize);
        }
        await recordPlan(deps.db, runId, { pagesTotal, recordsTotal });
        return { pageSize, pagesTotal, recordsTotal, passes: passes.length };
      }),
    );
  };
}

/** Where a retried fetchPage resumes: the first page its last attempt had not staged. */
interface ResumePoint {
  page: number | null;
  afterDcid: string | null;
  /** The school pass (index into schoolPasses); absent in heartbeats of older workers: 0. */
  pass?: number;
}

function resumePoint(): ResumePoint | undefined {
  const details = Context.current().info.heartbeatDetails as ResumePoint | undefined;
  return details && typeof details === 'object' && 'page' in details ? details : undefined;
}

const DEFAULT_BUDGET_MS = 10_000;

export function makeFetchPage(deps: ActivityDeps) {
  return async function fetchPage(input: FetchPageInput): Promise<FetchPageResult> {
    const { runId, pageSize } = input;
    const maxPages = Math.max(1, input.maxPages ?? 1);
    const budgetMs = input.budgetMs ?? DEFAULT_BUDGET_MS;
    const resumed = resumePoint();
    let at: ResumePoint = resumed ?? { page: input.page, afterDcid: input.afterDcid ?? null, pass: input.pass ?? 0 };
    return adaptFailures(() =>
      withHeartbeat(
        async () => {
          const ctx = await loadRunContext(deps.db, runId);
          if (at.page === null) return finishedBefore(deps, runId, input.page);
          const source = await sourceFor(deps, ctx);
          const passes = schoolPasses(scopeOf(ctx.settings));
          // A page is validated as soon as it arrives, so the next page's validation (CPU here)
          // overlaps the previous page's staging (CPU in PostgreSQL).
          const read = async (pass: number, afterDcid: string | null, page: number) => {
            const rows = await source.fetchStudentsAfter(passes[pass]!, afterDcid, pageSize);
            return { rows, ...normalisePage(rows, ctx.settings, page) };
          };

          const started = Date.now();
          const result: FetchPageResult = {
            page: at.page,
            received: 0,
            staged: 0,
            skipped: 0,
            nextPage: null,
            lastDcid: at.afterDcid,
            pass: at.pass ?? 0,
            pagesRead: 0,
            pagesFetched: 0,
            recordsFetched: 0,
          };
          let pending: ReturnType<typeof read> | null = read(at.pass ?? 0, at.afterDcid, at.page);
          while (pending) {
            const page: number = at.page!;
            const pass = at.pass ?? 0;
            const { rows, students, issues, skipped, lastDcid } = await pending;
            pending = null;
            if (rows.length >= pageSize && lastDcid === null)
              throw ApplicationFailure.nonRetryable(
                `page ${page}: no record on a full page has a readable DCID, so the read cannot go on`,
                'POWERSCHOOL_BAD_RESPONSE',
              );
            // A short (or empty) page ends its school's pass, whatever the count said: students may
            // have been added or removed while we read. The next school's pass starts from DCID 0.
            const passEnded = rows.length < pageSize;
            const next: ResumePoint = !passEnded
              ? { page: page + 1, afterDcid: lastDcid ?? at.afterDcid, pass }
              : pass + 1 < passes.length
                ? { page: page + 1, afterDcid: null, pass: pass + 1 }
                : { page: null, afterDcid: lastDcid ?? at.afterDcid, pass };
            const more = next.page !== null && result.pagesRead + 1 < maxPages && Date.now() - started < budgetMs;
            // Read the next page while this one is staged (still one request in flight at a time).
            if (more) {
              pending = read(next.pass ?? 0, next.afterDcid, next.page!);
              pending.catch(() => {}); // its failure surfaces when awaited, not as unhandled
            }
            const totals = await stagePage(deps.db, runId, page, students, issues);
            at = next;
            heartbeatResume(at);
            Object.assign(result, {
              page,
              received: result.received + rows.length,
              staged: result.staged + students.length,
              skipped: result.skipped + skipped,
              nextPage: next.page,
              lastDcid: next.afterDcid,
              pass: next.pass ?? 0,
              pagesRead: result.pagesRead + 1,
              pagesFetched: totals.pagesFetched,
              recordsFetched: totals.recordsFetched,
            });
          }
          return result;
        },
        1_000,
        () => at,
      ),
    );
  };
}

function heartbeatResume(at: ResumePoint): void {
  Context.current().heartbeat(at);
}

/** A retry of an attempt that had staged the last page before it died: report where the run is. */
async function finishedBefore(deps: ActivityDeps, runId: string, page: number): Promise<FetchPageResult> {
  const run = await getProgressTotals(deps.db, runId);
  return {
    page: Math.max(page, run.pagesFetched),
    received: 0,
    staged: 0,
    skipped: 0,
    nextPage: null,
    lastDcid: null,
    pagesRead: 1,
    pagesFetched: run.pagesFetched,
    recordsFetched: run.recordsFetched,
  };
}
