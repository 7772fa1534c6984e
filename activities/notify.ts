import { sql } from 'kysely';
import { getRun, setNotification } from '../db/queries/run-lifecycle.js';
import { parseRunSettings } from '../db/queries/run-settings.js';
import { composeRunEmail, type IssueSummary } from '../email/compose.js';
import { temporalUiUrl } from '../shared/temporal-ui-url.js';
import type { ActivityDeps } from './deps.js';
import { adaptFailures } from './failures.js';
import type { NotificationFailedInput, NotifyResult, RunRef } from './types.js';

/**
 * One email per ended run, when the school enabled notifications. Sent through the EmailSender
 * (Resend with the run id as idempotency key, or the outbox), so a retried notify delivers once.
 */
export function makeNotify(deps: ActivityDeps) {
  return async function notify({ runId }: RunRef): Promise<NotifyResult> {
    const run = await getRun(deps.db, runId);
    if (!run) return { status: 'disabled', messageId: null };
    if (run.notification_status === 'sent') return { status: 'sent', messageId: run.notification_message_id };
    const recipients = parseRunSettings(run.settings)?.notifications;
    if (!recipients?.enabled || recipients.recipients.length === 0) {
      await setNotification(deps.db, runId, 'disabled', null);
      return { status: 'disabled', messageId: null };
    }
    const issues = await summariseIssues(deps, runId);
    // The email links to the run's workflow, not one execution: a run can continue as new.
    const email = composeRunEmail({ run, issues, runUrl: temporalUiUrl(deps.config.temporal, runId) });
    const messageId = await adaptFailures(() =>
      deps.emailSender.send(
        { ...email, from: deps.config.email.from, to: recipients.recipients },
        { runId, schoolId: run.school_id },
      ),
    );
    await setNotification(deps.db, runId, 'sent', messageId);
    deps.logger?.info(
      { runId, schoolId: run.school_id, via: deps.emailSender.kind, recipients: recipients.recipients.length },
      'run notification sent',
    );
    return { status: 'sent', messageId };
  };
}

export function makeMarkNotificationFailed(deps: ActivityDeps) {
  return async function markNotificationFailed({ runId, message }: NotificationFailedInput): Promise<void> {
    await setNotification(deps.db, runId, 'failed', null);
    deps.logger?.warn({ runId, reason: message }, 'run notification could not be sent');
  };
}

async function summariseIssues(deps: ActivityDeps, runId: string): Promise<IssueSummary[]> {
  const { rows } = await sql<IssueSummary>`
    select field, code, skipped, count(*)::int as count
    from run_issues where run_id = ${runId}
    group by field, code, skipped
    order by count(*) desc, field, code
    limit 20
  `.execute(deps.db);
  return rows;
}
