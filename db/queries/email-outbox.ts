// The email_outbox table: where run emails go when no email provider is configured.
import type { Db } from '../connection.js';
import type { EmailKind } from '../types.js';

export interface OutboxEmail {
  runId: string;
  schoolId: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Default `run` (the run's end email). */
  kind?: EmailKind;
}

/**
 * Writes each of the run's emails once: the unique (run_id, kind) makes a retried write a no-op
 * that reads back the first one's id. `written` is false for such a retry.
 */
export async function writeOutboxEmail(db: Db, email: OutboxEmail): Promise<{ id: string; written: boolean }> {
  const inserted = await db
    .insertInto('email_outbox')
    .values({
      run_id: email.runId,
      school_id: email.schoolId,
      from: email.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      kind: email.kind ?? 'run',
    })
    .onConflict((oc) => oc.columns(['run_id', 'kind']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, written: true };
  const existing = await db
    .selectFrom('email_outbox')
    .select('id')
    .where('run_id', '=', email.runId)
    .where('kind', '=', email.kind ?? 'run')
    .executeTakeFirstOrThrow();
  return { id: existing.id, written: false };
}

/** A school's outbox, oldest first (the demo prints it). */
export async function listOutboxEmails(
  db: Db,
  schoolId: string,
): Promise<Array<{ to: string[]; subject: string; text: string }>> {
  return db
    .selectFrom('email_outbox')
    .select(['to', 'subject', 'text'])
    .where('school_id', '=', schoolId)
    .orderBy('id')
    .execute();
}
