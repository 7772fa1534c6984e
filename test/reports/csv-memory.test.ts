import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/connection.js';
import { testDb } from '../helpers/db.js';
import { testEnv, uniqueSchoolId } from '../helpers/env.js';

/**
 * A 1,000,000-row changes CSV, streamed by an API in its own process: the process's peak RSS
 * during the download (VmHWM, reset just before) must grow by under 50 MB. Each process first
 * serves a 10-row export of the same route, so what is measured is the download, not the first
 * use of the route's code (module loading, compilation, the pool's connections), which Node
 * versions size differently. The control reads the
 * same export into memory before sending it and grows far more: proof that the measurement can
 * tell the two apart.
 */

const ROWS = 1_000_000;
const TOKEN = 'csv-memory-test-token-0123456789abcdef';
const API_PROCESS = fileURLToPath(new URL('./api-process.ts', import.meta.url));

interface ApiProcess {
  child: ChildProcess;
  port: number;
}

async function startApi(): Promise<ApiProcess> {
  // V8's young generation pinned at Node 20's default size (16 MB semi-spaces): Node 24 sizes it
  // from the machine's memory and lets ~50 MB of short-lived buffers pile up before a scavenge,
  // which would make this figure measure the Node version rather than the export.
  const child = spawn(process.execPath, ['--max-semi-space-size=16', '--import', 'tsx', API_PROCESS], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: testEnv.databaseUrl,
      TEMPORAL_ADDRESS: testEnv.temporalAddress,
      API_TOKENS: TOKEN,
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

function kib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

/** Downloads `path`, counting lines without keeping them; returns the peak RSS growth in MB. */
async function peakGrowthMb(
  api: ApiProcess,
  path: string,
  warmUpPath: string,
): Promise<{ growthMb: number; lines: number; bytes: number }> {
  const pid = api.child.pid!;
  const warmUp = await fetch(`http://127.0.0.1:${api.port}${warmUpPath}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(warmUp.status).toBe(200);
  await warmUp.text();
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const before = kib(pid, 'VmRSS');
  const res = await fetch(`http://127.0.0.1:${api.port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of res.body!) {
    const buf = chunk as Uint8Array;
    bytes += buf.length;
    for (const b of buf) if (b === 10) lines++;
  }
  return { growthMb: (kib(pid, 'VmHWM') - before) / 1024, lines, bytes };
}

describe('CSV memory', () => {
  let db: Db;
  const schoolId = uniqueSchoolId('csvmem');
  const runId = `powerschool-sync-${schoolId}-manual-20270101T000000Z-mem001`;
  const smallRunId = `powerschool-sync-${schoolId}-manual-20270101T000000Z-mem002`;

  beforeAll(async () => {
    db = testDb();
    await db
      .insertInto('runs')
      .values(
        [runId, smallRunId].map((id) => ({
          id,
          school_id: schoolId,
          trigger: 'manual' as const,
          test_run: false,
          status: 'succeeded' as const,
        })),
      )
      .execute();
    await sql`
      insert into run_changes (run_id, dcid, type, before, after)
      select ${smallRunId}, g, 'update', jsonb_build_object('firstName', 'A' || g), jsonb_build_object('firstName', 'B' || g)
      from generate_series(1, 10) g
    `.execute(db);
    // Generated in PostgreSQL: one changed field per update, so one CSV row per change.
    await sql`
      insert into run_changes (run_id, dcid, type, before, after)
      select ${runId}, g, 'update',
             jsonb_build_object('dcid', g::text, 'firstName', 'Student ' || g, 'lastName', 'Example', 'graduationYear', 2027),
             jsonb_build_object('dcid', g::text, 'firstName', 'Renamed ' || g, 'lastName', 'Example', 'graduationYear', 2027)
      from generate_series(1, ${ROWS}) g
    `.execute(db);
  }, 120_000);

  afterAll(async () => {
    // run_changes has no foreign key to cascade from runs: its million rows go first.
    await db?.deleteFrom('run_changes').where('run_id', 'in', [runId, smallRunId]).execute();
    await db?.deleteFrom('runs').where('id', 'in', [runId, smallRunId]).execute();
    await db?.destroy();
  }, 60_000);

  it('streams 1,000,000 rows with the API growing under 50 MB; buffering the same export grows far more', async () => {
    const streaming = await startApi();
    let streamed;
    try {
      streamed = await peakGrowthMb(
        streaming,
        `/v1/schools/${schoolId}/runs/${runId}/changes.csv`,
        `/v1/schools/${schoolId}/runs/${smallRunId}/changes.csv`,
      );
    } finally {
      streaming.child.kill('SIGTERM');
    }
    const buffering = await startApi();
    let buffered;
    try {
      buffered = await peakGrowthMb(
        buffering,
        `/control/runs/${runId}/changes.csv`,
        `/control/runs/${smallRunId}/changes.csv`,
      );
    } finally {
      buffering.child.kill('SIGTERM');
    }
    console.info(
      `changes.csv, ${ROWS} rows: streamed ${streamed.bytes} bytes, peak RSS +${streamed.growthMb.toFixed(1)} MB; ` +
        `buffered control +${buffered.growthMb.toFixed(1)} MB`,
    );
    expect(streamed.lines).toBe(ROWS + 1);
    expect(buffered.lines).toBe(ROWS + 1);
    expect(streamed.growthMb).toBeLessThan(50);
    expect(buffered.growthMb).toBeGreaterThan(streamed.growthMb + 50);
  }, 180_000);
});
