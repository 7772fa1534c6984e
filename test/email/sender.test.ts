import { afterAll, describe, expect, it } from 'vitest';
import { emailIdempotencyKey, OutboxEmailSender } from '../../email/sender.js';
import { testDb } from '../helpers/db.js';
import { uniqueSchoolId } from '../helpers/env.js';

const db = testDb();
afterAll(() => db.destroy());

const email = (subject: string) => ({
  from: 'sync@localhost',
  to: ['a@school.example'],
  subject,
  text: 't',
  html: 'h',
});

describe('one email per run and kind', () => {
  it('the outbox keeps a run’s hold email and its end email apart, each written once however often sent', async () => {
    const schoolId = uniqueSchoolId('outbox');
    const runId = `powerschool-sync-${schoolId}-manual-1`;
    const sender = new OutboxEmailSender(db);
    const held = await sender.send(email('held'), { runId, schoolId, kind: 'held' });
    expect(await sender.send(email('held again'), { runId, schoolId, kind: 'held' })).toBe(held);
    const ended = await sender.send(email('ended'), { runId, schoolId });
    expect(ended).not.toBe(held);
    expect(await sender.send(email('ended again'), { runId, schoolId, kind: 'run' })).toBe(ended);
    const rows = await db
      .selectFrom('email_outbox')
      .select(['kind', 'subject'])
      .where('run_id', '=', runId)
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { kind: 'held', subject: 'held' },
      { kind: 'run', subject: 'ended' },
    ]);
  });

  it('Resend idempotency keys: the run id for its end, the run id and the kind otherwise', () => {
    expect(emailIdempotencyKey({ runId: 'r1', schoolId: 's' })).toBe('r1');
    expect(emailIdempotencyKey({ runId: 'r1', schoolId: 's', kind: 'run' })).toBe('r1');
    expect(emailIdempotencyKey({ runId: 'r1', schoolId: 's', kind: 'held' })).toBe('r1-held');
  });
});
