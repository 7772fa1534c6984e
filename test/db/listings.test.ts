import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/connection.js';
import { listRuns, listStudents, type StudentsAfter } from '../../db/queries/listings.js';
import { PreparedQuery } from '../../db/queries/prepared.js';
import type { StudentStatus } from '../../db/types.js';
import { testDb } from '../helpers/db.js';
import { uniqueSchoolId } from '../helpers/env.js';

/**
 * The list reads run queries compiled once per shape: every shape (first page, after a cursor,
 * with a status, the unlinked accounts) must still read the rows of its own call's values.
 */
describe('keyset lists on prepared queries', () => {
  let db: Db;
  beforeAll(() => {
    db = testDb();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function seedStudents(schoolId: string) {
    const linked: Array<{ dcid: string; status: StudentStatus }> = [
      { dcid: '3', status: 'active' },
      { dcid: '1', status: 'active' },
      { dcid: '20', status: 'departed' },
      { dcid: '4', status: 'active' },
      { dcid: '10', status: 'departed' },
    ];
    await db
      .insertInto('students')
      .values([
        ...linked.map(({ dcid, status }) => ({
          school_id: schoolId,
          dcid,
          status,
          first_name: 'A',
          last_name: `L${dcid}`,
          graduation_year: 2027,
          school_number: 101,
        })),
        ...[1, 2, 3].map((i) => ({
          school_id: schoolId,
          dcid: null,
          status: 'unlinked' as const,
          external_id: `ext-${i}`,
          first_name: 'U',
          first_name_key: 'u',
          last_name: `U${i}`,
          graduation_year: 2027,
          school_number: null,
        })),
      ])
      .execute();
    const unlinkedIds = (
      await db
        .selectFrom('students')
        .select('id')
        .where('school_id', '=', schoolId)
        .where('dcid', 'is', null)
        .orderBy('id')
        .execute()
    ).map((r) => r.id);
    return unlinkedIds;
  }

  /** Follows the list from its first page, `limit` at a time, as the route's cursors do. */
  async function allStudents(schoolId: string, limit: number, status?: StudentStatus) {
    const seen: string[] = [];
    let after: StudentsAfter | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await listStudents(db, schoolId, {
        limit,
        ...(after ? { after } : {}),
        ...(status ? { status } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      seen.push(...page.items.map((s) => s.dcid ?? `unlinked:${s.id}`));
      const last = page.items.at(-1);
      if (!page.hasMore || !last) return seen;
      after = last.dcid === null ? { unlinkedId: last.id } : { dcid: last.dcid };
    }
    throw new Error('the list did not end');
  }

  it('students: DCID order then the unlinked accounts, across pages, with and without a status', async () => {
    const a = uniqueSchoolId();
    const b = uniqueSchoolId();
    const unlinkedA = await seedStudents(a);
    const unlinkedB = await seedStudents(b);
    const unlinked = unlinkedA.map((id) => `unlinked:${id}`);
    const everyone = ['1', '3', '4', '10', '20', ...unlinked];
    for (const limit of [1, 2, 3, 20]) expect(await allStudents(a, limit)).toEqual(everyone);
    expect(await allStudents(a, 2, 'active')).toEqual(['1', '3', '4']);
    expect(await allStudents(a, 1, 'departed')).toEqual(['10', '20']);
    expect(await allStudents(a, 2, 'unlinked')).toEqual(unlinked);
    // The other school's rows never leak in, though both run the same compiled statements.
    expect(await allStudents(b, 3)).toEqual(['1', '3', '4', '10', '20', ...unlinkedB.map((id) => `unlinked:${id}`)]);
  });

  it('runs: newest first across pages, each call with its own cursor', async () => {
    const schoolId = uniqueSchoolId();
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5'].map((r) => `${schoolId}-${r}`);
    await db
      .insertInto('runs')
      .values(
        ids.map((id, i) => ({
          id,
          school_id: schoolId,
          trigger: 'manual' as const,
          test_run: true,
          status: 'succeeded' as const,
          // Two runs share a start to the microsecond: the id breaks the tie.
          started_at: sql<Date>`timestamptz '2026-01-01 00:00:00.000001+00' + ${Math.min(i, 3)} * interval '1 microsecond'`,
        })),
      )
      .execute();
    const seen: string[] = [];
    let after: { startedAt: string; id: string } | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await listRuns(db, schoolId, { limit: 2, ...(after ? { after } : {}) });
      seen.push(...page.items.map((r) => r.id));
      const last = page.items.at(-1);
      if (!page.hasMore || !last) break;
      after = { startedAt: last.started_at_key, id: last.id };
    }
    expect(seen).toEqual([ids[4], ids[3], ids[2], ids[1], ids[0]]);
  });

  it('a prepared query binds each call’s values, and refuses an argument compiled into the SQL text', async () => {
    const echo = new PreparedQuery(['a', 'b'], (d, args: { a: string; b?: number | undefined }) =>
      d
        .selectNoFrom(sql<string>`${args.a}::text`.as('a'))
        .$if(args.b !== undefined, (q) => q.select(sql<number>`${args.b}::int`.as('b'))),
    );
    const results = await Promise.all([
      echo.execute(db, { a: 'x' }),
      echo.execute(db, { a: 'y', b: 2 }),
      echo.execute(db, { a: 'z' }),
      echo.execute(db, { a: 'w', b: 3 }),
    ]);
    expect(results).toEqual([[{ a: 'x' }], [{ a: 'y', b: 2 }], [{ a: 'z' }], [{ a: 'w', b: 3 }]]);

    const inlined = new PreparedQuery(['a'], (d, args: { a: string }) => d.selectNoFrom(sql.lit(args.a).as('a')));
    await expect(inlined.execute(db, { a: 'x' })).rejects.toThrow(/argument a is not a bound parameter/);
  });
});
