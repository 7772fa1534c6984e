import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../../db/connection.js';
import { PowerSchoolClient } from '../../powerschool/client.js';
import { normalisePage } from '../../powerschool/normalise-page.js';
import type { NormalisedStudent } from '../../powerschool/records.js';
import { assertCheck, checkStudents, type CheckResult } from '../lib/expected.js';
import { BENCH_MAPPING } from '../lib/runs.js';
import { BENCH_SCOPE, type SimulatorProcess } from '../lib/simulator.js';

/**
 * The baseline of scenario 1, the floor the pipeline is measured against: a plain script, no
 * Temporal, no staging, no diff, no change records. It reads the same pages the same way (DCID
 * keyset, the same client, page size and simulator, which serves every keyset page of a scope from
 * one cached view), validates each page with the pipeline's own function
 * (powerschool/normalise-page.ts), and writes the same final students table
 * (bench_baseline.students, a copy of students' definition and indexes) with one
 * INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE per page, on one connection, while the next
 * page is already being read.
 */

export interface BaselineResult {
  students: number;
  pages: number;
  pageSize: number;
  seconds: number;
  studentsPerSecond: number;
  check: CheckResult;
}

export async function prepareBaselineTable(db: Db): Promise<void> {
  await sql`create schema if not exists bench_baseline`.execute(db);
  await sql`create table if not exists bench_baseline.students (like public.students including all)`.execute(db);
}

const UPSERT = `
  insert into bench_baseline.students
    (school_id, dcid, student_number, first_name, last_name, graduation_year, date_of_birth, gender)
  select $1, u.* from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::date[], $8::text[])
    as u(dcid, student_number, first_name, last_name, graduation_year, date_of_birth, gender)
  on conflict (school_id, dcid) do update set
    student_number = excluded.student_number, first_name = excluded.first_name,
    last_name = excluded.last_name, graduation_year = excluded.graduation_year,
    date_of_birth = excluded.date_of_birth, gender = excluded.gender, updated_at = now()`;

function columns(students: NormalisedStudent[]) {
  return [
    students.map((s) => s.dcid),
    students.map((s) => s.studentNumber),
    students.map((s) => s.firstName),
    students.map((s) => s.lastName),
    students.map((s) => s.graduationYear),
    students.map((s) => s.dateOfBirth),
    students.map((s) => s.gender),
  ];
}

export async function runBaseline(opts: {
  db: Db;
  databaseUrl: string;
  sim: SimulatorProcess;
  schoolId: string;
  inScope: Awaited<ReturnType<SimulatorProcess['inScopeStudents']>>;
}): Promise<BaselineResult> {
  await prepareBaselineTable(opts.db);
  await sql`delete from bench_baseline.students where school_id = ${opts.schoolId}`.execute(opts.db);
  const conn = new pg.Client({ connectionString: opts.databaseUrl, application_name: 'powerschool-sync-baseline' });
  await conn.connect();
  try {
    const started = performance.now();
    const client = new PowerSchoolClient({
      credentials: { serverUrl: opts.sim.url, clientId: opts.sim.clientId, clientSecret: opts.sim.clientSecret },
      allowInsecure: true,
    });
    const pageSize = await client.getMaxPageSize();
    await client.countStudents(BENCH_SCOPE);
    let written = 0;
    let pages = 0;
    let pending: Promise<unknown> = Promise.resolve();
    for (let after: string | null = null; ;) {
      const rows = await client.fetchStudentsAfter(BENCH_SCOPE, after, pageSize);
      pages++;
      const { students, lastDcid } = normalisePage(rows, { mapping: BENCH_MAPPING }, pages);
      if (lastDcid !== null) after = lastDcid;
      await pending; // at most one write in flight: reading page n+1 overlaps writing page n
      pending = conn.query(UPSERT, [opts.schoolId, ...columns(students)]);
      pending.catch(() => {}); // awaited (and thrown) on the next page or after the loop
      written += students.length;
      if (rows.length < pageSize) break;
    }
    await pending;
    const seconds = (performance.now() - started) / 1000;
    const check = await checkStudents(opts.db, 'bench_baseline.students', opts.schoolId, opts.inScope);
    assertCheck('baseline', check);
    return {
      students: written,
      pages,
      pageSize,
      seconds,
      studentsPerSecond: written / seconds,
      check,
    };
  } finally {
    await conn.end().catch(() => {});
  }
}
