import { PowerSchoolClient } from '../powerschool/client.js';
import { normaliseStudent } from '../powerschool/records.js';
import type { RunSettings } from '../db/queries/run-settings.js';
import {
  recordPlan,
  refreshRunProgress,
  stageIssues,
  stageStudents,
  type StagedIssue,
  type StagedStudent,
} from '../db/queries/staging.js';
import type { ActivityDeps, StudentSource } from './deps.js';
import { adaptFailures } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { credentialsFor, loadRunContext, scopeOf, type RunContext } from './run-context.js';
import type { FetchPageInput, FetchPageResult, PlanRunResult, RunRef } from './types.js';

/**
 * planRun and fetchPage: reading PowerSchool page by page into the run's staging tables.
 * Each page is its own activity, so a retry resumes at that page, not at page 1.
 */

/**
 * The client retries once in-process (a quick second try for a blip); anything longer is left to
 * the activity's retry policy, so retries show in the Temporal UI and survive a worker restart.
 */
const defaultFactory = (
  credentials: ConstructorParameters<typeof PowerSchoolClient>[0]['credentials'],
  allowInsecure: boolean,
) =>
  new PowerSchoolClient({ credentials, allowInsecure, maxAttempts: 2, retryBaseDelayMs: 250, maxRetryDelayMs: 5_000 });

async function sourceFor(deps: ActivityDeps, ctx: RunContext): Promise<StudentSource> {
  const credentials = await credentialsFor(deps.db, deps.secretBox, ctx);
  return (deps.powerschoolClientFactory ?? defaultFactory)(credentials, deps.config.allowInsecurePowerSchool);
}

export function makePlanRun(deps: ActivityDeps) {
  return async function planRun({ runId }: RunRef): Promise<PlanRunResult> {
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const ctx = await loadRunContext(deps.db, runId);
        const source = await sourceFor(deps, ctx);
        const serverMax = await source.getMaxPageSize();
        const pageSize = Math.max(1, Math.min(serverMax, deps.maxPageSize ?? serverMax));
        const recordsTotal = await source.countStudents(scopeOf(ctx.settings));
        const pagesTotal = Math.ceil(recordsTotal / pageSize);
        await recordPlan(deps.db, runId, { pagesTotal, recordsTotal });
        return { pageSize, pagesTotal, recordsTotal };
      }),
    );
  };
}

export function makeFetchPage(deps: ActivityDeps) {
  return async function fetchPage({ runId, page, pageSize }: FetchPageInput): Promise<FetchPageResult> {
    return adaptFailures(() =>
      withHeartbeat(async () => {
        const ctx = await loadRunContext(deps.db, runId);
        const source = await sourceFor(deps, ctx);
        const rows = await source.fetchStudentPage(scopeOf(ctx.settings), page, pageSize);
        const { students, issues, skipped } = normalisePage(rows, ctx.settings, page);
        // Issues first: a crash between the two statements leaves nothing counted that is not there.
        await stageIssues(deps.db, runId, issues);
        await stageStudents(deps.db, runId, students);
        const totals = await refreshRunProgress(deps.db, runId, page);
        return {
          page,
          received: rows.length,
          staged: students.length,
          skipped,
          // A short (or empty) page is the last one, whatever the count said: students may have
          // been added or removed while we read.
          nextPage: rows.length < pageSize ? null : page + 1,
          pagesFetched: totals.pagesFetched,
          recordsFetched: totals.recordsFetched,
        };
      }),
    );
  };
}

/** Fields a school may choose not to sync: their values are dropped and their issues not reported. */
const OPTIONAL_FIELDS = { dob: 'dateOfBirth', gender: 'gender' } as const;

export function normalisePage(
  rows: unknown[],
  settings: RunSettings,
  page: number,
): { students: StagedStudent[]; issues: StagedIssue[]; skipped: number } {
  const students: StagedStudent[] = [];
  const issues: StagedIssue[] = [];
  let skipped = 0;
  rows.forEach((raw, index) => {
    const result = normaliseStudent(raw);
    // A record without a readable DCID still gets its own issue rows: name it by its position.
    const dcidOf = (dcid: string) => dcid || `(no DCID: page ${page}, row ${index + 1})`;
    const student = result.ok ? result.student : null;
    if (student) {
      students.push({
        ...student,
        dateOfBirth: settings.mapping.dateOfBirth ? student.dateOfBirth : null,
        gender: settings.mapping.gender ? student.gender : null,
      });
    } else {
      skipped++;
    }
    const powerschoolId =
      settings.mapping.powerschoolId === 'DCID'
        ? (student?.dcid ?? (result.ok ? null : /^\d+$/.test(result.dcid) ? result.dcid : null))
        : (student?.studentNumber ?? null);
    for (const issue of result.issues) {
      if (!issue.skipped && issue.field in OPTIONAL_FIELDS) {
        const key = OPTIONAL_FIELDS[issue.field as keyof typeof OPTIONAL_FIELDS];
        if (!settings.mapping[key]) continue;
      }
      issues.push({
        dcid: dcidOf(issue.dcid),
        powerschoolId,
        field: issue.field,
        code: issue.code,
        message: issue.message,
        skipped: issue.skipped,
      });
    }
  });
  return { students, issues, skipped };
}
