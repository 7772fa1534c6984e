// The demo's matching chapter: import the school's existing Cialfo accounts, show the test run's links, resolve a review.
import { existingAccountsFile } from '../../simulator/index.js';
import type { Stack } from './stack.js';

interface Change {
  powerschoolId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}
interface Review {
  id: string;
  dcid: string;
  record: { firstName: string; lastName: string; dateOfBirth: string | null };
  candidates: Array<{ id: string; externalId: string | null; firstName: string; lastName: string }>;
}

const say = (line = '') => console.log(line);

/** The simulator's "existing accounts" file for the school's grades, imported 1,000 per request. */
export async function importExistingAccounts(stack: Stack, school: string): Promise<void> {
  const accounts = existingAccountsFile(stack.simulator.students.inScope(9, 12), { seed: 42 });
  const totals = { imported: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < accounts.length; i += 1000) {
    const r = await stack.api<typeof totals>('POST', `/v1/schools/${school}/students/import`, {
      students: accounts.slice(i, i + 1000),
    });
    totals.imported += r.imported;
    totals.updated += r.updated;
    totals.unchanged += r.unchanged;
  }
  say(`  imported ${totals.imported} existing Cialfo accounts (unlinked until a run matches them)`);
}

/** A test run's links: which imported account each PowerSchool record would take over. */
export async function showLinks(stack: Stack, school: string, runId: string, n: number): Promise<void> {
  const { changes } = await stack.api<{ changes: Change[] }>(
    'GET',
    `/v1/schools/${school}/runs/${encodeURIComponent(runId)}/changes?type=link&limit=${n}`,
  );
  for (const c of changes) {
    const b = c.before ?? {};
    say(
      `    = ${c.powerschoolId}: account ${String(b.externalId)} "${String(b.firstName)} ${String(b.lastName)}"` +
        ` → "${String(c.after.firstName)} ${String(c.after.lastName)}" (same id ${String(b.id).slice(0, 8)}…)`,
    );
  }
}

/** After a commit: one open review, resolved through the API by linking its first candidate. */
export async function resolveOneReview(stack: Stack, school: string): Promise<void> {
  const { reviews } = await stack.api<{ reviews: Review[] }>(
    'GET',
    `/v1/schools/${school}/match-reviews?status=open&limit=1`,
  );
  const review = reviews[0];
  if (!review) {
    say('  no open match review');
    return;
  }
  say(
    `  review ${review.id}: PowerSchool DCID ${review.dcid} "${review.record.firstName} ${review.record.lastName}"` +
      ` (${review.record.dateOfBirth ?? 'no date of birth'}) has ${review.candidates.length} candidates:`,
  );
  for (const c of review.candidates) say(`    ? ${c.externalId} "${c.firstName} ${c.lastName}"`);
  const chosen = review.candidates[0]!;
  await stack.api('POST', `/v1/schools/${school}/match-reviews/${review.id}/resolve`, {
    action: 'link',
    studentId: chosen.id,
  });
  say(`  resolved: link to ${chosen.externalId}; the next commit applies it`);
}
