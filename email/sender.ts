import { ApplicationFailure } from '@temporalio/common';
import { Resend } from 'resend';
import type { Db } from '../db/connection.js';
import type { ComposedEmail } from './compose.js';
import type { Log } from '../logging/log.js';

/**
 * Where notification emails go: Resend when RESEND_API_KEY is set, otherwise the email_outbox
 * table plus one log line (with the recipient count, never the addresses). Both deliver a run's email once however often they are called for it.
 */

export interface OutgoingEmail extends ComposedEmail {
  from: string;
  to: string[];
}

export interface SendContext {
  runId: string;
  schoolId: string;
}

export interface EmailSender {
  readonly kind: 'resend' | 'outbox';
  /** Returns the provider's message id. Throws an ApplicationFailure the activity can pass on. */
  send(email: OutgoingEmail, ctx: SendContext): Promise<string>;
}

export class ResendEmailSender implements EmailSender {
  readonly kind = 'resend';
  private readonly resend: Resend;

  constructor(apiKey: string, baseUrl?: string) {
    this.resend = new Resend(apiKey, baseUrl ? { baseUrl: baseUrl.replace(/\/+$/, '') } : undefined);
  }

  async send(email: OutgoingEmail, ctx: SendContext): Promise<string> {
    // resend v6 reports HTTP and network errors in `error` instead of throwing.
    const { data, error } = await this.resend.emails.send(
      { from: email.from, to: email.to, subject: email.subject, text: email.text, html: email.html },
      // Resend delivers once per key (for 24 hours), so a retried activity sends one email.
      { idempotencyKey: ctx.runId },
    );
    if (error) throw resendFailure(error);
    if (!data?.id) throw ApplicationFailure.retryable('Resend answered without a message id', 'EMAIL_SEND_FAILED');
    return data.id;
  }
}

function resendFailure(error: { message: string; statusCode: number | null; name: string }): ApplicationFailure {
  const status = error.statusCode;
  const message = `Resend refused the email (${status ?? 'network error'} ${error.name}): ${error.message}`;
  // Network errors, rate limits, server errors and a concurrent request on the same key pass;
  // a rejected payload, a bad key or a forbidden sender will not pass on a retry.
  const retryable =
    status === null || status === 429 || status >= 500 || error.name === 'concurrent_idempotent_requests';
  return retryable
    ? ApplicationFailure.retryable(message, 'EMAIL_SEND_FAILED')
    : ApplicationFailure.nonRetryable(message, 'EMAIL_REJECTED');
}

export class OutboxEmailSender implements EmailSender {
  readonly kind = 'outbox';
  constructor(
    private readonly db: Db,
    private readonly logger?: Log,
  ) {}

  async send(email: OutgoingEmail, ctx: SendContext): Promise<string> {
    // The unique run_id makes a retried send write one row; the retry reads back its id.
    const inserted = await this.db
      .insertInto('email_outbox')
      .values({
        run_id: ctx.runId,
        school_id: ctx.schoolId,
        from: email.from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
      })
      .onConflict((oc) => oc.column('run_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    const id =
      inserted?.id ??
      (await this.db.selectFrom('email_outbox').select('id').where('run_id', '=', ctx.runId).executeTakeFirstOrThrow())
        .id;
    if (inserted) {
      // How many recipients, not who: addresses are personal data and stay in the table with the body.
      this.logger?.info(
        { runId: ctx.runId, schoolId: ctx.schoolId, recipients: email.to.length, subject: email.subject, outboxId: id },
        'notification written to the email outbox (RESEND_API_KEY is not set)',
      );
    }
    return `outbox-${id}`;
  }
}

export function createEmailSender(
  email: { resendApiKey: string | undefined; resendBaseUrl: string | undefined },
  db: Db,
  logger?: Log,
): EmailSender {
  return email.resendApiKey
    ? new ResendEmailSender(email.resendApiKey, email.resendBaseUrl)
    : new OutboxEmailSender(db, logger);
}
