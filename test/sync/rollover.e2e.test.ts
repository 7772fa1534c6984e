import { describe, expect, it } from 'vitest';
import type { LeaveKind } from '../../simulator/index.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runSync, studentsOf, useSyncStack } from './harness.js';

/**
 * Year-end rollover: a quarter of a 20,000-student school leaves at once (graduates, transfers,
 * inactivations, deleted records, moves to a school it does not sync). Every reason is looked up
 * in PowerSchool, one request at a time, with no cap, and the commit takes under 3× the time of
 * the same school's no-change re-sync.
 */
describe('year-end rollover of 25% of a 20,000-student school', () => {
  // One school of the district, every grade: about 20,000 enrolled students (85% of the records).
  const stack = useSyncStack({ simulator: { students: 23_600, schools: 1, seed: 2027, maxPageSize: 100 } });
  const { config } = stack;

  it(
    '4. completes with every reason right, politely, in under 3× a no-change re-sync',
    { timeout: 600_000 },
    async () => {
      const schoolId = uniqueSchoolId();
      // A quarter of the school leaving is what the safety hold exists to stop; here it is wanted.
      const scope = { grades: { from: -2, to: 12 }, schools: [100], safety: { enabled: false } };
      await putIntegration(stack.db, config, schoolId, stack.sim, scope);
      const inScope = stack.sim.students.inScope(-2, 12, [100]);
      expect(inScope.length).toBeGreaterThan(19_500);
      const first = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      expect(first.counts).toMatchObject({ created: inScope.length });

      const started = performance.now();
      const resync = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      const noChangeMs = performance.now() - started;
      expect(resync.counts).toMatchObject({ unchanged: inScope.length, updated: 0, departed: 0 });

      // Every fourth student leaves, in the proportions of a real year end.
      const kinds: Array<[LeaveKind, string]> = [
        ['graduated', 'graduated'],
        ['graduated', 'graduated'],
        ['graduated', 'graduated'],
        ['graduated', 'graduated'],
        ['transferred', 'transferred'],
        ['transferred', 'transferred'],
        ['inactive', 'inactive'],
        ['deleted', 'not_found'],
        ['moved', 'out_of_scope'],
      ];
      const expected = new Map<string, string>();
      inScope
        .filter((_, i) => i % 4 === 0)
        .forEach((s, i) => {
          const [kind, reason] = kinds[i % kinds.length]!;
          stack.sim.students.leave(s.dcid, kind, 200);
          expected.set(String(s.dcid), reason);
        });
      const requestsBefore = stack.sim.stats().dataRequests;

      const rolloverStarted = performance.now();
      const rollover = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
      const rolloverMs = performance.now() - rolloverStarted;
      const requests = stack.sim.stats().dataRequests - requestsBefore;

      expect(rollover.counts).toMatchObject({ departed: expected.size, updated: 0, created: 0 });
      const rows = await studentsOf(stack.db, schoolId);
      const actual = new Map(rows.filter((r) => r.status === 'departed').map((r) => [r.dcid, r.departure_reason]));
      expect(actual).toEqual(expected);
      expect(stack.sim.stats().maxConcurrent).toBe(1);
      console.log(
        `rollover: ${expected.size} of ${inScope.length} students left; no-change re-sync ${Math.round(noChangeMs)} ms, ` +
          `rollover commit ${Math.round(rolloverMs)} ms (${(rolloverMs / noChangeMs).toFixed(2)}×), ${requests} PowerSchool data requests`,
      );
      expect(rolloverMs).toBeLessThan(3 * noChangeMs);
    },
  );
});
