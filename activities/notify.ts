// The notify activities: the run's summary email, and recording that it could not be sent.
import { summariseRunIssues } from '../db/queries/issue-summary.js';
import { setNotification } from '../db/queries/run-lifecycle.js';
import { parseRunSettings, wantsEmail } from '../db/queries/run-settings.js';
import { getRun } from '../db/queries/runs.js';
import { composeRunEmail } from '../email/compose.js';
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
    const settings = parseRunSettings(run.settings);
    if (!settings || !wantsEmail(settings)) {
      await setNotification(deps.db, runId, 'disabled', null);
      return { status: 'disabled', messageId: null };
    }
    const { recipients } = settings.notifications;
    const issues = await summariseRunIssues(deps.db, runId);
    // The email links to the run's workflow, not one execution: a run can continue as new.
    const email = composeRunEmail({ run, issues, runUrl: temporalUiUrl(deps.config.temporal, runId) });
    const messageId = await adaptFailures(() =>
      deps.emailSender.send(
        { ...email, from: deps.config.email.from, to: recipients },
        { runId, schoolId: run.school_id },
      ),
    );
    await setNotification(deps.db, runId, 'sent', messageId);
    deps.logger?.info(
      { runId, schoolId: run.school_id, via: deps.emailSender.kind, recipients: recipients.length },
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
