import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { importAccounts, type ImportedAccount } from '../../db/queries/imported-accounts.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runRow, runSync, useSyncStack } from './harness.js';

/**
 * Done-when 6 of matching: 20,000 imported accounts matched against a 20,000-student school add at
 * most 30% to that commit's time. The same district is committed for a school without accounts
 * (20,000 creates) and for one with an account per record (links instead), twice each,
 * alternating, and the faster of each pair is compared.
 */

/** In-scope records and imported accounts (about 85% of the simulator's seeded students are enrolled). */
const STUDENTS = Number(process.env.MATCHING_SCALE_STUDENTS ?? 20_000);

describe('matching at scale', () => {
  const stack = useSyncStack({ simulator: { students: Math.ceil(STUDENTS * 1.2), seed: 5, maxPageSize: 1000 } });
  const { config } = stack;

  /** An account for each of the first STUDENTS in-scope records, spelled as a Cialfo account might spell it. */
  function accountsFor(): ImportedAccount[] {
    return stack.sim.students
      .inScope(-2, 12)
      .slice(0, STUDENTS)
      .map((s) => ({
        externalId: `cialfo-${s.dcid}`,
        firstName: s.first_name.toUpperCase(),
        lastName: s.last_name.toLowerCase(),
        dateOfBirth: s.dob,
        graduationYear: s.sched_yearofgraduation,
      }));
  }

  async function commit(withAccounts: boolean) {
    const schoolId = uniqueSchoolId(withAccounts ? 'scale-match' : 'scale-plain');
    await putIntegration(stack.db, config, schoolId, stack.sim, {
      grades: { from: -2, to: 12 },
      mapping: { dateOfBirth: true },
    });
    if (withAccounts) {
      const accounts = accountsFor();
      for (let i = 0; i < accounts.length; i += 1000)
        await importAccounts(stack.db, schoolId, accounts.slice(i, i + 1000));
    }
    // Accounts are imported days before a commit, and autovacuum has long processed them by then:
    // done here up front, for both schools alike, so it does not compete with the commit measured.
    await sql`vacuum analyze students`.execute(stack.db);
    const result = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
    const run = await runRow(stack.db, result.workflowId);
    return {
      counts: result.counts!,
      // applied_at is the diff transaction's now(): its start. finishRun follows the diff at once.
      diffMs: run.finished_at!.getTime() - run.applied_at!.getTime(),
      runMs: run.finished_at!.getTime() - run.started_at.getTime(),
    };
  }

  it(
    '6. 20,000 accounts against 20,000 students: the commit takes at most 30% longer than without them',
    async () => {
      const inScope = stack.sim.students.inScope(-2, 12).length;
      expect(inScope).toBeGreaterThanOrEqual(STUDENTS);
      expect(inScope).toBeLessThan(STUDENTS * 1.1);
      const plain = [];
      const matched = [];
      for (let round = 0; round < 2; round++) {
        plain.push(await commit(false));
        matched.push(await commit(true));
      }
      for (const m of matched) expect(m.counts.linked + m.counts.needsReview + m.counts.created).toBe(inScope);
      expect(matched[0]!.counts.linked).toBeGreaterThan(STUDENTS * 0.95);
      for (const p of plain) expect(p.counts).toMatchObject({ created: inScope, linked: 0, needsReview: 0 });

      const best = (xs: Array<{ diffMs: number; runMs: number }>, key: 'diffMs' | 'runMs') =>
        Math.min(...xs.map((x) => x[key]));
      const figures = {
        records: inScope,
        accounts: STUDENTS,
        linked: matched[0]!.counts.linked,
        plainRunMs: best(plain, 'runMs'),
        matchedRunMs: best(matched, 'runMs'),
        plainDiffMs: best(plain, 'diffMs'),
        matchedDiffMs: best(matched, 'diffMs'),
      };
      console.log(`[matching-scale] ${JSON.stringify(figures)}`);
      expect(figures.matchedRunMs).toBeLessThanOrEqual(figures.plainRunMs * 1.3);
    },
    10 * 60_000,
  );
});
