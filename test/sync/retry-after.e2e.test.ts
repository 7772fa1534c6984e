import { describe, expect, it } from 'vitest';
import { uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runSync, useSyncStack } from './harness.js';

/**
 * A server's Retry-After longer than the client's in-process wait (5 s in the activities) is
 * honoured by Temporal's retry (the activity's nextRetryDelay): no request goes out before it.
 */
describe('sync pipeline: Retry-After beyond the in-process wait', () => {
  const stack = useSyncStack({ simulator: { students: 40, seed: 77 } });
  const { config } = stack;

  it('a 429 and a 503 asking for 6 s: the next request waits the full 6 s each time, and the run succeeds', async () => {
    const retryAfterSeconds = 6;
    const schoolId = uniqueSchoolId();
    await putIntegration(stack.db, config, schoolId, stack.sim);
    stack.sim.setFaults({ next: ['rate-limit', 'unavailable'], retryAfterSeconds });
    const startedAt = Date.now();

    const result = await runSync(stack.client, stack.worker.taskQueue, { schoolId, trigger: 'manual' });
    expect(result.status).toBe('succeeded');
    expect(result.counts?.created).toBe(stack.sim.students.inScope(9, 12).length);

    const data = stack.sim.requestLog().filter((r) => r.path.startsWith('/ws/') && r.receivedAt >= startedAt);
    const refusals = data.filter((r) => r.status === 429 || r.status === 503);
    expect(refusals.map((r) => r.status)).toEqual([429, 503]);
    for (const refusal of refusals) {
      const next = data.find((r) => r.receivedAt >= refusal.answeredAt! && r !== refusal);
      expect(next, 'a request after the refusal').toBeDefined();
      expect(next!.receivedAt - refusal.answeredAt!).toBeGreaterThanOrEqual(retryAfterSeconds * 1000);
    }
  }, 60_000);
});
