import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { toActivityFailure } from '../../activities/failures.js';
import { EmailSendError } from '../../email/sender.js';

describe('toActivityFailure: email sends', () => {
  it('a send that may pass later is a retryable EMAIL_SEND_FAILED', () => {
    const failure = toActivityFailure(new EmailSendError('EMAIL_SEND_FAILED', 'Resend refused the email (500)'));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'EMAIL_SEND_FAILED', nonRetryable: false });
  });

  it('a rejected email is a non-retryable EMAIL_REJECTED', () => {
    const failure = toActivityFailure(new EmailSendError('EMAIL_REJECTED', 'Resend refused the email (422)'));
    expect(failure).toMatchObject({
      type: 'EMAIL_REJECTED',
      nonRetryable: true,
      message: 'Resend refused the email (422)',
    });
  });
});
