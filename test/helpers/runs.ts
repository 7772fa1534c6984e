import { expect, vi } from 'vitest';
import type { Db } from '../../db/connection.js';

/** Pages a run has fetched so far, from its row (0 before the row exists). */
export async function pagesFetched(db: Db, runId: string): Promise<number> {
  const row = await db.selectFrom('runs').select('pages_fetched').where('id', '=', runId).executeTakeFirst();
  return row?.pages_fetched ?? 0;
}

/** Waits until a run has fetched at least `pages` pages: how tests catch a run in the middle. */
export async function waitForPages(db: Db, runId: string, pages: number, timeout = 30_000): Promise<void> {
  await vi.waitFor(
    async () => expect(await pagesFetched(db, runId), `pages fetched by ${runId}`).toBeGreaterThanOrEqual(pages),
    {
      timeout,
      interval: 50,
    },
  );
}
