import Fastify from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { sql } from 'kysely';
import { studentsPageQuery } from '../../db/queries/listings.js';
import type { Database } from '../../db/types.js';

/**
 * The bare handler of scenario 4: Fastify with no plugins, no auth, no validation, no response
 * schema, and a pg pool of the API's size, running the SQL the API's list endpoints run
 * (db/queries/listings.ts listRuns / listStudents, first page, default limit 20 → 21 rows), compiled
 * once from the same Kysely query (students: the API's own query builder) and sent with pg directly. Prints `BENCH_BARE {json}` when listening.
 */
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, application_name: 'bench-bare' });
const qb = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
const LIMIT = 20;

const startedAtKey = sql<string>`to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const runsSql = qb
  .selectFrom('runs')
  .selectAll()
  .select(startedAtKey.as('started_at_key'))
  .where('school_id', '=', '$school')
  .orderBy('started_at', 'desc')
  .orderBy('id', 'desc')
  .limit(LIMIT + 1)
  .compile().sql;
// The API's own students query (departed students, latest commit, mapping), compiled once with a
// placeholder school id that each request swaps for its own.
const SCHOOL = '$school';
const studentsQuery = studentsPageQuery(qb, SCHOOL, { limit: LIMIT }).compile();
const studentsSql = studentsQuery.sql;
const studentsParams = (schoolId: string) => studentsQuery.parameters.map((p) => (p === SCHOOL ? schoolId : p));

const app = Fastify({ logger: false });
app.get<{ Params: { schoolId: string } }>('/runs/:schoolId', async (request) => {
  const { rows } = await pool.query(runsSql, [request.params.schoolId, LIMIT + 1]);
  return { runs: rows.slice(0, LIMIT), more: rows.length > LIMIT };
});
app.get<{ Params: { schoolId: string } }>('/students/:schoolId', async (request) => {
  const { rows } = await pool.query(studentsSql, studentsParams(request.params.schoolId));
  return { students: rows.slice(0, LIMIT), more: rows.length > LIMIT };
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(`BENCH_BARE ${JSON.stringify({ url: address, runsSql, studentsSql })}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  });
}
