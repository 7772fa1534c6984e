// Delivers a composed run email: through Resend, or into the email_outbox table when no API key is set.
import { Resend } from 'resend';
import type { Db } from '../db/connection.js';
import { writeOutboxEmail } from '../db/queries/email-outbox.js';
import type { EmailKind } from '../db/types.js';
import type { Code } from '../shared/codes.js';
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
  /** Which of the run's emails: its end (default) or its hold. Each is delivered once. */
  kind?: EmailKind;
}

/** The idempotency key of one of a run's emails: the run id (its end), or the run id and the kind. */
export function emailIdempotencyKey(ctx: SendContext): string {
  return !ctx.kind || ctx.kind === 'run' ? ctx.runId : `${ctx.runId}-${ctx.kind}`;
}

/**
 * A send that failed. EMAIL_SEND_FAILED may pass on a retry; EMAIL_REJECTED will not. The notify
 * activity turns it into its Temporal failure (activities/failures.ts).
 */
export class EmailSendError extends Error {
  override name = 'EmailSendError';
  constructor(
    readonly code: Extract<Code, `EMAIL_${string}`>,
    message: string,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.code === 'EMAIL_SEND_FAILED';
  }
}

export interface EmailSender {
  readonly kind: 'resend' | 'outbox';
  /** Returns the provider's message id. Throws an EmailSendError when the provider refuses or fails. */
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
      { idempotencyKey: emailIdempotencyKey(ctx) },
    );
    if (error) throw resendFailure(error);
    if (!data?.id) throw new EmailSendError('EMAIL_SEND_FAILED', 'Resend answered without a message id');
    return data.id;
  }
}

function resendFailure(error: { message: string; statusCode: number | null; name: string }): EmailSendError {
  const status = error.statusCode;
  const message = `Resend refused the email (${status ?? 'network error'} ${error.name}): ${error.message}`;
  // Network errors, rate limits, server errors and a concurrent request on the same key pass;
  // a rejected payload, a bad key or a forbidden sender will not pass on a retry.
  const retryable =
    status === null || status === 429 || status >= 500 || error.name === 'concurrent_idempotent_requests';
  return new EmailSendError(retryable ? 'EMAIL_SEND_FAILED' : 'EMAIL_REJECTED', message);
}

export class OutboxEmailSender implements EmailSender {
  readonly kind = 'outbox';
  constructor(
    private readonly db: Db,
    private readonly logger?: Log,
  ) {}

  async send(email: OutgoingEmail, ctx: SendContext): Promise<string> {
    // One row per run however often this is called: a retry reads back the first one's id.
    const { id, written } = await writeOutboxEmail(this.db, {
      ...email,
      runId: ctx.runId,
      schoolId: ctx.schoolId,
      kind: ctx.kind ?? 'run',
    });
    if (written) {
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
