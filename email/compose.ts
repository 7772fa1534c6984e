// The run summary email: subject, text and HTML from a run row and its issue summary.
import type { IssueSummary } from '../db/queries/issue-summary.js';
import type { Run } from '../db/types.js';
import type { RunFailureCode } from '../shared/codes.js';

/**
 * The run summary email: what happened (mode, status, counts), what PowerSchool reported wrong,
 * what the school must fix when the run failed, and the link to the run in the Temporal UI.
 * Built from the run row and the issue summary only: ids and counts, no student names.
 */

export type { IssueSummary };

export interface RunEmailInput {
  run: Pick<
    Run,
    | 'id'
    | 'school_id'
    | 'test_run'
    | 'status'
    | 'trigger'
    | 'started_at'
    | 'finished_at'
    | 'records_total'
    | 'count_fetched'
    | 'count_created'
    | 'count_updated'
    | 'count_unchanged'
    | 'count_invalid'
    | 'count_missing'
    | 'error_code'
    | 'error_message'
  > &
    Partial<Pick<Run, 'count_linked' | 'count_needs_review'>>;
  issues: IssueSummary[];
  runUrl: string;
}

export interface ComposedEmail {
  subject: string;
  text: string;
  html: string;
}

// Nothing alerts anyone when a run fails (no paging, no ticket): say only what will happen.
const GENERIC_REMEDY = 'The next scheduled run will try again.';

/**
 * What a school (not an engineer) can do about each code a run can fail with; a new failure code
 * (shared/codes.ts) does not compile until it has its line here.
 */
const REMEDIES = {
  POWERSCHOOL_AUTH_FAILED:
    'PowerSchool refused the Client ID / Client Secret. Copy them again from the plugin’s Data Provider Configuration in PowerSchool and save them in the integration settings.',
  POWERSCHOOL_FORBIDDEN:
    'The PowerSchool plugin is not allowed to read some student fields. Install the current plugin (it requests every field the sync reads), or grant the fields named above, then run again.',
  POWERSCHOOL_INSECURE_URL: 'The PowerSchool server URL must be an https:// address reachable from the internet.',
  POWERSCHOOL_UNREACHABLE:
    'PowerSchool could not be reached. Check the server URL in the integration settings; if it is right, the server may be down — the next run will try again.',
  POWERSCHOOL_UNAVAILABLE: 'PowerSchool kept answering with server errors. The next run will try again.',
  POWERSCHOOL_RATE_LIMITED: 'PowerSchool kept asking us to slow down. The next run will try again.',
  POWERSCHOOL_NOT_FOUND: 'The PowerSchool server did not recognise the request. Check the server URL.',
  POWERSCHOOL_BAD_RESPONSE: 'PowerSchool sent answers we could not read. The next run will try again.',
  INVALID_SETTINGS: 'The integration settings are incomplete or invalid. Open them, correct them and save.',
  INTEGRATION_NOT_FOUND: 'The integration no longer exists; set it up again to resume syncing.',
  START_FAILED: GENERIC_REMEDY,
  TIMEOUT: GENERIC_REMEDY,
  RUN_ABANDONED: GENERIC_REMEDY,
  RUN_ENDED: GENERIC_REMEDY,
  INTERNAL: GENERIC_REMEDY,
  HOLD_STALE:
    'Students changed in Cialfo after this sync was held, so its changes were not written. The next run compares PowerSchool with the students as they are now.',
} as const satisfies Record<RunFailureCode, string>;

/** The remedy of a run's error code (the column is free text: an unknown or no code gets the generic one). */
export function remedyFor(code: string | null): string {
  return code !== null && Object.hasOwn(REMEDIES, code) ? REMEDIES[code as RunFailureCode] : GENERIC_REMEDY;
}

/**
 * Where the whole record is: the CSV reports are served by our API to Cialfo's backend, so the
 * email names the place a person gets them, never a link that would need our bearer token.
 */
export const FULL_REPORT_NOTE =
  "The full report of this run (every change and every issue) can be downloaded as CSV files from the school's sync history in Cialfo.";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function statusWord(status: string): string {
  return (
    {
      succeeded: 'completed',
      failed: 'FAILED',
      cancelled: 'was cancelled',
      skipped: 'was skipped',
      discarded: 'was discarded',
    }[status] ?? status
  );
}

/** Why a held commit was discarded, by its error code (none: a person discarded it). */
function discardedBecause(code: string | null): string {
  if (code === 'HOLD_EXPIRED') return 'nobody approved the held sync before its hold expired';
  if (code === 'INTEGRATION_DELETED') return 'the integration was deleted while the sync was held';
  return 'the held sync was discarded in Cialfo';
}

export function composeRunEmail({ run, issues, runUrl }: RunEmailInput): ComposedEmail {
  const mode = run.test_run ? 'Test run (preview, nothing was written)' : 'Commit';
  const modeShort = run.test_run ? 'test run' : 'sync';
  const subject = `PowerSchool ${modeShort} for ${run.school_id} ${statusWord(run.status)}`;

  // A discarded commit wrote nothing: its counts say what it would have done, as a test run's do.
  const countRows: [string, number][] =
    run.test_run || run.status === 'discarded'
      ? [
          ['Fetched from PowerSchool', run.count_fetched],
          ['Would be created', run.count_created],
          ['Would be updated', run.count_updated],
          ['Unchanged', run.count_unchanged],
          ['Skipped as invalid', run.count_invalid],
          ['No longer in PowerSchool (kept)', run.count_missing],
        ]
      : [
          ['Fetched from PowerSchool', run.count_fetched],
          ['Created', run.count_created],
          ['Updated', run.count_updated],
          ['Unchanged', run.count_unchanged],
          ['Skipped as invalid', run.count_invalid],
          ['No longer in PowerSchool (kept)', run.count_missing],
        ];

  // Only for schools that imported existing accounts: others never see the rows.
  if (run.count_linked)
    countRows.push([run.test_run ? 'Would link existing accounts' : 'Linked existing accounts', run.count_linked]);
  if (run.count_needs_review) countRows.push(['Waiting for a match review', run.count_needs_review]);

  const lines: string[] = [`School: ${run.school_id}`, `Mode: ${mode}`, `Status: ${run.status}`, `Run: ${run.id}`, ''];
  if (run.status === 'failed') {
    lines.push(`Error: ${run.error_code ?? 'INTERNAL'} — ${run.error_message ?? 'the run failed'}`);
    lines.push(`What to do: ${remedyFor(run.error_code)}`, '');
  }
  const discarded = run.status === 'discarded' ? `Nothing was written: ${discardedBecause(run.error_code)}.` : null;
  if (discarded) lines.push(discarded, '');
  lines.push(...countRows.map(([label, n]) => `${label}: ${n}`));
  if (run.records_total !== null && run.status === 'succeeded' && run.records_total !== run.count_fetched) {
    lines.push(
      `Note: PowerSchool counted ${run.records_total} students in scope but returned ${run.count_fetched} (records changed during the run).`,
    );
  }
  const issueLines = issues.map(
    (i) => `${i.count} × ${i.field}: ${i.code}${i.skipped ? ' (record skipped)' : ' (synced without this field)'}`,
  );
  if (issueLines.length > 0) lines.push('', 'Issues in PowerSchool data:', ...issueLines.map((l) => `  - ${l}`));
  lines.push('', FULL_REPORT_NOTE, `Details: ${runUrl}`);
  const text = lines.join('\n') + '\n';

  const html = [
    `<h2>${escapeHtml(subject)}</h2>`,
    `<p>School: <b>${escapeHtml(run.school_id)}</b><br>Mode: <b>${escapeHtml(mode)}</b><br>Status: <b>${escapeHtml(run.status)}</b></p>`,
    run.status === 'failed'
      ? `<p><b>Error:</b> ${escapeHtml(run.error_code ?? 'INTERNAL')} — ${escapeHtml(run.error_message ?? 'the run failed')}<br><b>What to do:</b> ${escapeHtml(remedyFor(run.error_code))}</p>`
      : '',
    discarded ? `<p><b>${escapeHtml(discarded)}</b></p>` : '',
    `<table>${countRows.map(([label, n]) => `<tr><td>${escapeHtml(label)}</td><td align="right">${n}</td></tr>`).join('')}</table>`,
    issueLines.length > 0
      ? `<p>Issues in PowerSchool data:</p><ul>${issueLines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`
      : '',
    `<p>${escapeHtml(FULL_REPORT_NOTE)}</p>`,
    `<p><a href="${escapeHtml(runUrl)}">Open the run</a></p>`,
  ].join('\n');

  return { subject, text, html };
}
