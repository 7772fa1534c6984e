import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import {
  ApplicationFailure,
  CancelledFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SyncActivities } from '../../activities/types.js';
import type { RunCounts, SyncStudentsResult, SyncStudentsWorkflowInput } from '../../workflows/types.js';
import { SyncStatusKey } from '../../workflows/search-attributes.js';
import { DECIDE_HOLD_UPDATE, SYNC_WORKFLOW_TYPE, type HoldDecisionInput } from '../../workflows/types.js';
import { createTestWorker, testClient, uniqueTaskQueue } from '../helpers/env.js';

/**
 * syncStudents against fake activities: each branch of the workflow (succeeded, test run,
 * skipped, failed, cancelled, committed-before-the-cancel, continue-as-new, a failed email) in a
 * second or two, with no database and no PowerSchool. The worker is real and so is the Temporal
 * server (the suite's dev server); only the activities are stand-ins that record their calls.
 */

const COUNTS: RunCounts = {
  fetched: 25,
  created: 20,
  updated: 3,
  unchanged: 2,
  invalid: 0,
  missing: 0,
  departed: 0,
  linked: 0,
  needsReview: 0,
};
const PAGE_SIZE = 10;

type Call = { name: keyof SyncActivities; input: unknown };

/** In-memory activities: a run of `pages` pages that succeeds, unless a test overrides a step. */
function fakeActivities(overrides: Partial<SyncActivities> = {}, pages = 3) {
  const calls: Call[] = [];
  const record = <K extends keyof SyncActivities>(name: K, fn: SyncActivities[K]): SyncActivities[K] =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- forwards the activity's own arguments
    (async (input: any) => {
      calls.push({ name, input });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return (fn as any)(input);
    }) as SyncActivities[K];
  const defaults: SyncActivities = {
    beginRun: async (input) => ({ outcome: 'claimed', testRun: input.testRun ?? false, notificationsEnabled: false }),
    recordExecution: async () => {},
    planRun: async () => ({ pageSize: PAGE_SIZE, pagesTotal: pages, recordsTotal: pages * PAGE_SIZE }),
    fetchPage: async (input) => {
      // Reads as many pages as it is allowed to, like the real activity's batches.
      const last = Math.min(pages, input.page + (input.maxPages ?? 1) - 1);
      return {
        page: last,
        received: PAGE_SIZE,
        staged: PAGE_SIZE,
        skipped: 0,
        nextPage: last >= pages ? null : last + 1,
        lastDcid: String(last * PAGE_SIZE),
        pagesRead: last - input.page + 1,
        pagesFetched: last,
        recordsFetched: last * PAGE_SIZE,
      };
    },
    lookupDepartures: async () => ({ lookedUp: 0, remaining: 0 }),
    applyRun: async () => COUNTS,
    previewRun: async () => COUNTS,
    finishRun: async (input) => ({ status: input.status, notify: false }),
    notify: async () => ({ status: 'sent', messageId: 'message-1' }),
    markNotificationFailed: async () => {},
    notifyHold: async () => ({ status: 'sent', messageId: 'hold-message-1' }),
    resumeHeldRun: async () => {},
    applyHeldRun: async () => COUNTS,
    discardHeldRun: async () => ({ notify: false }),
  };
  const merged = { ...defaults, ...overrides };
  const activities = Object.fromEntries(
    (Object.keys(merged) as (keyof SyncActivities)[]).map((name) => [name, record(name, merged[name])]),
  ) as unknown as SyncActivities;
  const names = () => calls.map((c) => c.name);
  const inputsOf = <K extends keyof SyncActivities>(name: K) =>
    calls.filter((c) => c.name === name).map((c) => c.input as Parameters<SyncActivities[K]>[0]);
  return { activities, calls, names, inputsOf };
}

/** A fetchPage that never finishes on its own: it heartbeats until Temporal cancels it. */
async function fetchUntilCancelled(started: () => void): Promise<never> {
  started();
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(100); // rejects with a CancelledFailure once the cancel arrives
  }
}

describe('syncStudents with fake activities', () => {
  let client: Client;
  beforeAll(async () => {
    client = await testClient();
  });
  afterAll(async () => {
    await client?.connection.close();
  });

  /** Runs the workflow on a worker of its own with these activities; returns its handle's outcome. */
  async function run(
    activities: SyncActivities,
    input: Partial<SyncStudentsWorkflowInput> = {},
    during?: (handle: WorkflowHandleWithFirstExecutionRunId) => Promise<void>,
  ): Promise<{ result?: SyncStudentsResult; error?: unknown; handle: WorkflowHandleWithFirstExecutionRunId }> {
    const taskQueue = uniqueTaskQueue('wf');
    const worker = await createTestWorker({ taskQueue, activities });
    return worker.runUntil(async () => {
      const handle = await client.workflow.start(SYNC_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `wf-test-${randomUUID()}`,
        args: [{ schoolId: 'school-1', trigger: 'manual', ...input }],
        workflowExecutionTimeout: '1 minute',
      });
      await during?.(handle);
      try {
        return { result: (await handle.result()) as SyncStudentsResult, handle };
      } catch (error) {
        return { error, handle };
      }
    });
  }

  it('succeeds: begin, plan, every page, commit, finish — and returns the counts', async () => {
    const fake = fakeActivities();
    const { result, handle } = await run(fake.activities);
    expect(result).toEqual({
      runId: handle.workflowId,
      status: 'succeeded',
      testRun: false,
      counts: COUNTS,
      notification: 'disabled',
    });
    expect(fake.names()).toEqual(['beginRun', 'planRun', 'fetchPage', 'lookupDepartures', 'applyRun', 'finishRun']);
    expect(fake.inputsOf('finishRun')).toEqual([{ runId: handle.workflowId, status: 'succeeded' }]);
  });

  it('a test run previews instead of committing', async () => {
    const fake = fakeActivities();
    const { result } = await run(fake.activities, { testRun: true });
    expect(result).toMatchObject({ status: 'succeeded', testRun: true, counts: COUNTS });
    expect(fake.names()).toContain('previewRun');
    expect(fake.names()).not.toContain('applyRun');
  });

  it('skipped: a run already in progress ends the workflow at once, with nothing read or recorded', async () => {
    const fake = fakeActivities({
      beginRun: async () => ({ outcome: 'skipped', code: 'RUN_IN_PROGRESS', runningRunId: 'run-0' }),
    });
    const { result } = await run(fake.activities);
    expect(result).toMatchObject({
      status: 'skipped',
      testRun: null,
      counts: null,
      skipped: { code: 'RUN_IN_PROGRESS', runningRunId: 'run-0' },
      notification: 'disabled',
    });
    expect(fake.names()).toEqual(['beginRun']);
  });

  it('skipped: a run whose row had already ended does nothing again', async () => {
    const fake = fakeActivities({ beginRun: async () => ({ outcome: 'ended', status: 'succeeded' }) });
    const { result } = await run(fake.activities);
    expect(result).toMatchObject({ status: 'skipped', skipped: { code: 'RUN_ALREADY_ENDED', runningRunId: null } });
    expect(fake.names()).toEqual(['beginRun']);
  });

  it('failed: the run is recorded failed with its code, the school is emailed, and the workflow fails typed by the code', async () => {
    const fake = fakeActivities({
      fetchPage: async () => {
        throw ApplicationFailure.nonRetryable('PowerSchool refused the credentials', 'POWERSCHOOL_AUTH_FAILED');
      },
      finishRun: async (input) => ({ status: input.status, notify: true }),
    });
    const { error, handle } = await run(fake.activities);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'POWERSCHOOL_AUTH_FAILED', nonRetryable: true });
    expect(fake.inputsOf('finishRun')).toEqual([
      {
        runId: handle.workflowId,
        status: 'failed',
        error: { code: 'POWERSCHOOL_AUTH_FAILED', message: 'PowerSchool refused the credentials' },
      },
    ]);
    expect(fake.names()).toEqual(['beginRun', 'planRun', 'fetchPage', 'finishRun', 'notify']);
  });

  it('cancelled: the page read is cancelled, the run is recorded cancelled and the workflow ends cancelled', async () => {
    let fetching!: () => void;
    const started = new Promise<void>((resolve) => (fetching = resolve));
    const fake = fakeActivities({ fetchPage: () => fetchUntilCancelled(fetching) });
    const { error, handle } = await run(fake.activities, {}, async (h) => {
      await started;
      await h.cancel();
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(fake.inputsOf('finishRun')).toEqual([
      { runId: handle.workflowId, status: 'cancelled', error: { code: 'CANCELLED', message: 'the run was cancelled' } },
    ]);
    expect(fake.names()).not.toContain('applyRun');
  });

  it('a cancel that arrives after the commit landed: the run stands as succeeded with the committed counts', async () => {
    let applying!: () => void;
    const started = new Promise<void>((resolve) => (applying = resolve));
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    const fake = fakeActivities({
      // The commit completes although the cancel came first; finishRun reports what it committed.
      applyRun: async () => {
        applying();
        await committed;
        return COUNTS;
      },
      finishRun: async (input) => ({
        status: 'succeeded',
        notify: false,
        ...(input.status === 'cancelled' ? { succeededWith: COUNTS } : {}),
      }),
    });
    const { result } = await run(fake.activities, {}, async (h) => {
      await started;
      await h.cancel();
      // The workflow has taken the cancel (and waits for the commit's answer) before it lands.
      await vi.waitFor(
        async () => {
          const { events } = await h.fetchHistory();
          expect(events?.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
        },
        { timeout: 10_000, interval: 50 },
      );
      commit();
    });
    expect(result).toMatchObject({ status: 'succeeded', testRun: false, counts: COUNTS });
    expect(fake.inputsOf('finishRun')).toMatchObject([{ status: 'cancelled' }]);
  });

  it('continues as new between pages: one run across executions, each recorded, every page read once', async () => {
    const fake = fakeActivities({}, 5);
    const { result, handle } = await run(fake.activities, { options: { pagesPerExecution: 2, pagesPerActivity: 1 } });
    expect(result).toMatchObject({ runId: handle.workflowId, status: 'succeeded', counts: COUNTS });
    // Pages 1-2, 3-4, then 5: three executions, the later two recorded on the run.
    expect(fake.inputsOf('fetchPage').map((i) => i.page)).toEqual([1, 2, 3, 4, 5]);
    expect(fake.inputsOf('fetchPage').map((i) => i.afterDcid)).toEqual([null, '10', '20', '30', '40']);
    const executions = fake.inputsOf('recordExecution');
    expect(executions).toHaveLength(2);
    expect(executions.every((e) => e.runId === handle.workflowId)).toBe(true);
    expect(new Set(executions.map((e) => e.temporalRunId)).size).toBe(2);
    expect(fake.names().filter((n) => n === 'beginRun' || n === 'planRun')).toEqual(['beginRun', 'planRun']);
    expect(fake.names().filter((n) => n === 'applyRun' || n === 'finishRun')).toEqual(['applyRun', 'finishRun']);
    const firstExecution = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(firstExecution.status.name).toBe('CONTINUED_AS_NEW');
  });

  it('an email that cannot be sent leaves the run succeeded and records why', async () => {
    const fake = fakeActivities({
      finishRun: async (input) => ({ status: input.status, notify: true }),
      notify: async () => {
        throw ApplicationFailure.nonRetryable('recipient rejected', 'EMAIL_REJECTED');
      },
    });
    const { result, handle } = await run(fake.activities);
    expect(result).toMatchObject({ status: 'succeeded', notification: 'failed' });
    expect(fake.inputsOf('markNotificationFailed')).toEqual([
      { runId: handle.workflowId, message: 'recipient rejected' },
    ]);
  });

  describe('a held commit', () => {
    const REASON = { code: 'TOO_MANY_UPDATES' as const, count: 20, base: 25, percent: 80, limit: 75 };
    /** applyRun holds the commit until `expiresInMs` from now (by the activity's clock). */
    const heldFakes = (expiresInMs = 60_000, overrides: Partial<SyncActivities> = {}) =>
      fakeActivities({
        applyRun: async () => ({
          ...COUNTS,
          held: { reasons: [REASON], expiresAt: new Date(Date.now() + expiresInMs).toISOString() },
        }),
        ...overrides,
      });
    const decision = (d: HoldDecisionInput['decision'], acceptWithinMs = 10_000): HoldDecisionInput => ({
      decision: d,
      acceptBy: new Date(Date.now() + acceptWithinMs).toISOString(),
    });
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      return ((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type;
    };
    const whenHeld = async (handle: WorkflowHandleWithFirstExecutionRunId, fake: ReturnType<typeof fakeActivities>) =>
      vi.waitFor(async () => {
        expect(fake.names()).toContain('applyRun');
        expect(
          (await handle.describe()).raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.SyncStatus,
        ).toBeTruthy();
      });

    it('refuses a decision before the hold, a late one, and a second one; approve resumes, then applies the record', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const fake = heldFakes(60_000, {
        fetchPage: async (input) => {
          await gate;
          return {
            page: 1,
            received: 1,
            staged: 1,
            skipped: 0,
            nextPage: null,
            lastDcid: '1',
            pagesRead: 1,
            pagesFetched: 1,
            recordsFetched: input.page,
          };
        },
      });
      const { result } = await run(fake.activities, {}, async (handle) => {
        await vi.waitFor(() => expect(fake.names()).toContain('fetchPage'));
        expect(await refusal(handle.executeUpdate(DECIDE_HOLD_UPDATE, { args: [decision('approve')] }))).toBe(
          'RUN_NOT_HELD',
        );
        release();
        await whenHeld(handle, fake);
        expect(await refusal(handle.executeUpdate(DECIDE_HOLD_UPDATE, { args: [decision('approve', -1)] }))).toBe(
          'TEMPORAL_UNAVAILABLE',
        );
        const answers = await Promise.allSettled([
          handle.executeUpdate(DECIDE_HOLD_UPDATE, { args: [decision('approve')] }),
          handle.executeUpdate(DECIDE_HOLD_UPDATE, { args: [decision('discard')] }),
        ]);
        expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
      });
      const decided = fake.names().filter((n) => n === 'resumeHeldRun' || n === 'discardHeldRun');
      expect(decided).toHaveLength(1);
      if (decided[0] === 'resumeHeldRun') {
        expect(result).toMatchObject({ status: 'succeeded', counts: COUNTS });
        expect(fake.names().slice(-3)).toEqual(['resumeHeldRun', 'applyHeldRun', 'finishRun']);
      } else {
        expect(result).toMatchObject({ status: 'discarded' });
        expect(fake.names()).not.toContain('applyHeldRun');
      }
    });

    /** An applyRun that waits for `release` before answering: the row says held, the workflow does not know yet. */
    const slowCommit = (held: boolean) => {
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const fake = heldFakes(60_000, {
        applyRun: async () => {
          await released;
          return held
            ? { ...COUNTS, held: { reasons: [REASON], expiresAt: new Date(Date.now() + 60_000).toISOString() } }
            : COUNTS;
        },
      });
      return { fake, release };
    };

    it('an approve that arrives while applyRun is recording the hold waits for it, then stands', async () => {
      const { fake, release } = slowCommit(true);
      const { result } = await run(fake.activities, {}, async (handle) => {
        await vi.waitFor(() => expect(fake.names()).toContain('applyRun'));
        const approve = handle.executeUpdate(DECIDE_HOLD_UPDATE, { args: [decision('approve')] });
        release();
        await expect(approve).resolves.toEqual({ status: 'running' });
      });
      expect(result).toMatchObject({ status: 'succeeded', counts: COUNTS });
      expect(fake.names().slice(-3)).toEqual(['resumeHeldRun', 'applyHeldRun', 'finishRun']);
    });

    it('an approve that arrives while a commit turns out not held is refused RUN_NOT_HELD', async () => {
      const { fake, release } = slowCommit(false);
      const { result } = await run(fake.activities, {}, async (handle) => {
        await vi.waitFor(() => expect(fake.names()).toContain('applyRun'));
        const approve = refusal(handle.executeUpdate(DECIDE_HOLD_UPDATE, { args: [decision('approve')] }));
        release();
        expect(await approve).toBe('RUN_NOT_HELD');
      });
      expect(result).toMatchObject({ status: 'succeeded', counts: COUNTS });
      expect(fake.names()).not.toContain('resumeHeldRun');
    });

    it('expires after its hold: discarded HOLD_EXPIRED, its end email sent, SyncStatus cleared', async () => {
      const fake = heldFakes(1_500, {
        discardHeldRun: async () => ({ notify: true }),
        beginRun: async () => ({ outcome: 'claimed', testRun: false, notificationsEnabled: true }),
      });
      const { result, handle } = await run(fake.activities);
      expect(result).toMatchObject({ status: 'discarded', counts: COUNTS, notification: 'sent' });
      expect(fake.inputsOf('discardHeldRun')).toEqual([
        { runId: handle.workflowId, error: { code: 'HOLD_EXPIRED', message: expect.any(String) } },
      ]);
      expect(fake.names().slice(-4)).toEqual(['applyRun', 'notifyHold', 'discardHeldRun', 'notify']);
      expect(fake.names()).not.toContain('finishRun');
      expect((await handle.describe()).typedSearchAttributes.get(SyncStatusKey)).toBeUndefined();
    });
  });
});
