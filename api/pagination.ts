// Opaque keyset cursors for the list routes.
import { z } from 'zod';
import { validationFailed } from './errors.js';

/**
 * Opaque cursors: base64url of `[kind, ...sort key]`. The kind stops a runs cursor from being fed
 * to the students list; the sort key is the last item's unique key (keyset pagination).
 */

export const DEFAULT_LIMIT = 20;

export type CursorKind = 'runs' | 'changes' | 'issues' | 'students' | 'heldRuns' | 'reviews';

export function encodeCursor(kind: CursorKind, key: string[]): string {
  return Buffer.from(JSON.stringify([kind, ...key]), 'utf8').toString('base64url');
}

const digits = z.string().regex(/^-?\d{1,20}$/);
const keySchemas = {
  runs: z.tuple([z.literal('runs'), z.iso.datetime({ offset: false, precision: 6 }), z.string().min(1).max(255)]),
  changes: z.tuple([z.literal('changes'), digits]),
  issues: z.tuple([z.literal('issues'), digits]),
  // After a DCID, or after an id among the unlinked accounts (listed after every DCID).
  students: z.union([
    z.tuple([z.literal('students'), digits]),
    z.tuple([z.literal('students'), z.literal('unlinked'), z.uuid()]),
  ]),
  heldRuns: z.tuple([
    z.literal('heldRuns'),
    z.iso.datetime({ offset: false, precision: 6 }),
    z.string().min(1).max(255),
  ]),
  reviews: z.tuple([z.literal('reviews'), digits]),
} as const;

export function decodeCursor<K extends CursorKind>(kind: K, cursor: string): string[] {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw validationFailed('cursor', 'is not a cursor this list gave out');
  }
  const result = keySchemas[kind].safeParse(parsed);
  if (!result.success) throw validationFailed('cursor', 'is not a cursor this list gave out');
  return (result.data as string[]).slice(1);
}
