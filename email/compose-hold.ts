// The hold email: why a commit waits, until when, and who decides.
import type { HoldReason, Run } from '../db/types.js';
import { describeHoldReason } from '../services/safety-hold.js';
import { escapeHtml, type ComposedEmail } from './compose.js';

export interface HoldEmailInput {
  run: Pick<Run, 'id' | 'school_id' | 'count_created' | 'count_updated' | 'count_missing'>;
  reasons: HoldReason[];
  expiresAt: Date;
}

/**
 * Sent once when a commit is held. School staff decide in Cialfo, so it names no link of ours
 * (our API needs a bearer token they do not have). Counts and thresholds only, no student data.
 */
export function composeHoldEmail({ run, reasons, expiresAt }: HoldEmailInput): ComposedEmail {
  const subject = `PowerSchool sync for ${run.school_id} is on hold: it needs approval`;
  const until = expiresAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const intro =
    'This sync would change more students than the school’s safety settings allow, so nothing has been written yet.';
  const decide = `The school’s Cialfo administrator can approve it (the changes shown are written exactly) or discard it (nothing is written) in Cialfo. If nobody decides by ${until}, it is discarded.`;
  const counts: [string, number][] = [
    ['Would be created', run.count_created],
    ['Would be updated', run.count_updated],
    ['No longer in PowerSchool', run.count_missing],
  ];
  const lines = [
    `School: ${run.school_id}`,
    `Run: ${run.id}`,
    '',
    intro,
    '',
    'Why it is held:',
    ...reasons.map((r) => `  - ${describeHoldReason(r)}`),
    '',
    ...counts.map(([label, n]) => `${label}: ${n}`),
    '',
    decide,
  ];
  const html = [
    `<h2>${escapeHtml(subject)}</h2>`,
    `<p>School: <b>${escapeHtml(run.school_id)}</b><br>Run: ${escapeHtml(run.id)}</p>`,
    `<p>${escapeHtml(intro)}</p>`,
    `<p>Why it is held:</p><ul>${reasons.map((r) => `<li>${escapeHtml(describeHoldReason(r))}</li>`).join('')}</ul>`,
    `<table>${counts.map(([label, n]) => `<tr><td>${escapeHtml(label)}</td><td align="right">${n}</td></tr>`).join('')}</table>`,
    `<p>${escapeHtml(decide)}</p>`,
  ].join('\n');
  return { subject, text: lines.join('\n') + '\n', html };
}
