import type { Client } from '@temporalio/client';
import { vi } from 'vitest';

/** Schedule listing is eventually consistent: a reconcile pass can only remove an orphan it can list. */
export async function waitUntilListed(client: Client, scheduleId: string): Promise<void> {
  await vi.waitFor(
    async () => {
      for await (const s of client.schedule.list()) if (s.scheduleId === scheduleId) return;
      throw new Error(`${scheduleId} is not listed yet`);
    },
    { timeout: 20_000, interval: 200 },
  );
}
