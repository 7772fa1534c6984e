/**
 * Politeness towards one PowerSchool server: PowerSchool throttles per plugin, so all requests
 * for one (serverUrl, clientId) in this process go through one queue: at most one in flight, and
 * optionally a minimum interval between the starts of consecutive requests. Module-level on
 * purpose, so two clients built for the same school (e.g. two activities) still share it.
 */

import { setTimeout as sleep } from 'node:timers/promises';

interface Lane {
  tail: Promise<void>;
  waiting: number;
}

const lanes = new Map<string, Lane>();
const lastStartedAt = new Map<string, number>();

export async function inPoliteSlot<T>(key: string, minIntervalMs: number, task: () => Promise<T>): Promise<T> {
  let lane = lanes.get(key);
  if (!lane) {
    lane = { tail: Promise.resolve(), waiting: 0 };
    lanes.set(key, lane);
  }
  const previous = lane.tail;
  let release!: () => void;
  lane.tail = new Promise<void>((resolve) => (release = resolve));
  lane.waiting += 1;
  const current = lane;
  try {
    await previous;
    if (minIntervalMs > 0) {
      const wait = (lastStartedAt.get(key) ?? 0) + minIntervalMs - Date.now();
      if (wait > 0) await sleep(wait);
    }
    lastStartedAt.set(key, Date.now());
    return await task();
  } finally {
    current.waiting -= 1;
    if (current.waiting === 0 && lanes.get(key) === current) lanes.delete(key);
    release();
  }
}
