import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getIntegration } from '../../db/queries/integrations.js';
import { countMissedScheduledRuns } from '../../db/queries/missed-runs.js';
import { checkMissedRun, lastDueOf, MISSED_RUN_GRACE_MS, scheduledWorkflowId } from '../../services/schedules-due.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { uniqueSchoolId } from '../helpers/env.js';
import { createNamespace, settings, startTestApi, type TestApi } from './support.js';

/**
 * Missed runs on a real schedule firing every minute. No worker polls this API's task queue, so the
 * first scheduled run stays running and the fires after it are skipped by the overlap policy: due,
 * with no run. Once it is terminated, the next fire runs and shows its id. A Temporal namespace of
 * its own: workers that other files start on databases of their own reconcile the shared namespace
 * and would delete this school's schedule as an orphan.
 */

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { TEMPORAL_NAMESPACE: await createNamespace('api-missed') } });
});
afterAll(async () => api?.close());

const MINUTE = 60_000;
/**
 * A taken action's scheduledAt includes the jitter; the workflow id and lastDueAt use the nominal
 * time. Jitter only delays, and never past the next fire, so every minute's nominal time is its floor.
 */
const nominalOf = (d: Date) => new Date(Math.floor(d.getTime() / MINUTE) * MINUTE);

describe('schedule.lastDueAt and lastDueRunId', () => {
  it(
    'an overlapped fire is due with lastDueRunId null; the next fire that runs shows its run id',
    async () => {
      const schoolId = uniqueSchoolId('missed');
      const handle = api.client.schedule.getHandle(scheduleIdFor(schoolId));
      const get = async () =>
        (await api.req({ method: 'GET', url: `/v1/schools/${schoolId}/integration` })).json().schedule as {
          lastDueAt: string | null;
          lastDueRunId: string | null;
        };
      const created = await api.req({
        method: 'PUT',
        url: `/v1/schools/${schoolId}/integration`,
        payload: settings({ active: true, schedule: { cron: '* * * * *', timezone: 'UTC' } }),
      });
      expect(created.statusCode).toBe(201);
      const runs: string[] = [];
      try {
        // The first fire starts a run that nobody works on: it stays running.
        const first = await vi.waitFor(
          async () => {
            const d = await handle.describe();
            expect(d.info.recentActions.length).toBeGreaterThan(0);
            return d.info.recentActions[0]!;
          },
          { timeout: 3 * MINUTE, interval: 1000 },
        );
        const firstId = first.action.workflow.workflowId;
        runs.push(firstId);
        expect(firstId).toBe(scheduledWorkflowId(schoolId, nominalOf(first.scheduledAt)));

        // The next fire finds it running and is skipped.
        await vi.waitFor(
          async () => expect((await handle.describe()).info.numActionsSkippedOverlap).toBeGreaterThan(0),
          { timeout: 3 * MINUTE, interval: 1000 },
        );
        const skipped = await get();
        expect(skipped.lastDueAt).not.toBeNull();
        expect(new Date(skipped.lastDueAt!).getTime()).toBeGreaterThan(nominalOf(first.scheduledAt).getTime());
        expect(new Date(skipped.lastDueAt!).getTime() % MINUTE).toBe(0);
        expect(skipped.lastDueRunId).toBeNull();

        // Judged after the grace, that skipped fire is a missed run: logged and counted once.
        const row = (await getIntegration(api.db, schoolId))!;
        const before = await countMissedScheduledRuns(api.db);
        const judgeAt = new Date(new Date(skipped.lastDueAt!).getTime() + MISSED_RUN_GRACE_MS + 1000);
        const warnings: object[] = [];
        const logger = { debug() {}, info() {}, error() {}, warn: (o: object) => void warnings.push(o) };
        expect(await checkMissedRun({ db: api.db, client: api.client, logger }, row, judgeAt)).toBe(true);
        expect(await checkMissedRun({ db: api.db, client: api.client, logger }, row, judgeAt)).toBe(false);
        expect((await countMissedScheduledRuns(api.db)) - before).toBeGreaterThanOrEqual(1);
        expect(warnings).toEqual([{ schoolId, nominalAt: skipped.lastDueAt }]);
        // The fire that ran is not a missed one.
        const judgeFirst = new Date(nominalOf(first.scheduledAt).getTime() + MISSED_RUN_GRACE_MS + 1000);
        expect(await checkMissedRun({ db: api.db, client: api.client, logger }, row, judgeFirst)).toBe(false);

        // Once the first run ends, the next fire runs. That run stays running too (no worker), so
        // later fires are skipped again: the answer is read as of just after that fire's time.
        await api.client.workflow.getHandle(firstId).terminate('test: let the next fire run');
        const second = await vi.waitFor(
          async () => {
            const next = (await handle.describe()).info.recentActions.find(
              (a) => a.action.workflow.workflowId !== firstId,
            );
            expect(next).toBeDefined();
            return next!;
          },
          { timeout: 3 * MINUTE, interval: 1000 },
        );
        runs.push(second.action.workflow.workflowId);
        const due = await lastDueOf(
          { db: api.db, client: api.client },
          row,
          new Date(second.scheduledAt.getTime() + 1000),
        );
        expect(due).toEqual({
          lastDueAt: nominalOf(second.scheduledAt),
          lastDueRunId: second.action.workflow.workflowId,
        });
        expect(due.lastDueRunId).toBe(scheduledWorkflowId(schoolId, nominalOf(second.scheduledAt)));
      } finally {
        await api.req({ method: 'DELETE', url: `/v1/schools/${schoolId}/integration` });
        for (const id of runs)
          await api.client.workflow
            .getHandle(id)
            .terminate('test cleanup')
            .catch(() => {});
      }
    },
    8 * MINUTE,
  );
});
