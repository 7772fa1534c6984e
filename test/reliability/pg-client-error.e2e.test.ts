import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { scheduleIdFor } from '../../workflows/types.js';
import { freshDatabase } from '../helpers/db.js';
import { testClient, uniqueSchoolId, uniqueTaskQueue } from '../helpers/env.js';
import type { NodeChild } from '../helpers/process.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { putIntegration, startSync, syncTestConfig } from '../sync/harness.js';
import { LogSink } from './support.js';

/**
 * Bug 2 of docs/reliability.md (fixed in db/connection.ts): a backend terminated while its client is checked
 * out (pg_terminate_backend, a PostgreSQL restart or failover, a network reset) made the pg Client
 * emit 'error' with no listener — an uncaught exception that killed the worker process. Here the worker (worker/main.ts)
 * (a child process) has the connection of its apply transaction terminated and must stay up and
 * finish the run.
 */
describe('reliability: the worker process survives a terminated PostgreSQL backend', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let client: Client;
  let sim: Simulator;
  let child: NodeChild | undefined;
  let schoolId = '';
  beforeAll(async () => {
    database = await freshDatabase('pgerr');
    client = await testClient();
    sim = await startSimulator({ students: 2_000, seed: 3, maxPageSize: 20, faults: { latencyMs: 10 } });
  });
  afterAll(async () => {
    await child?.kill();
    if (schoolId)
      await client?.schedule
        .getHandle(scheduleIdFor(schoolId))
        .delete()
        .catch(() => {});
    await sim?.close();
    await client?.connection.close();
    await database?.drop();
  });

  it('the worker process survives pg_terminate_backend of a connection in the middle of a query and finishes the run', async () => {
    const config = syncTestConfig({ DATABASE_URL: database.url });
    schoolId = uniqueSchoolId('pgerr');
    const taskQueue = uniqueTaskQueue('pgerr');
    await putIntegration(database.db, config, schoolId, sim, { grades: { from: -2, to: 12 } });
    const logs = new LogSink();
    child = await startWorkerProcess({ databaseUrl: database.url, taskQueue, logs });
    const exited = child.exited.then(({ code, signal }) => {
      throw new Error(`the worker exited (${code ?? signal}) before the run ended:\n${logs.text().slice(-800)}`);
    });
    exited.catch(() => {}); // also killed on purpose in afterAll
    const handle = await startSync(client, taskQueue, { schoolId, trigger: 'manual' });
    const locker = new pg.Client({ connectionString: database.url });
    const admin = new pg.Client({ connectionString: database.url });
    await Promise.all([locker.connect(), admin.connect()]);
    try {
      await vi.waitFor(
        async () => {
          const r = await database.db
            .selectFrom('runs')
            .select('pages_fetched')
            .where('id', '=', handle.workflowId)
            .executeTakeFirst();
          expect(r?.pages_fetched ?? 0, 'pages fetched').toBeGreaterThanOrEqual(2);
        },
        { timeout: 120_000, interval: 50 },
      );
      // An uncommitted student row with a DCID the commit will insert: the apply's INSERT waits on
      // it inside its transaction. Terminate that backend: the transaction's ROLLBACK then meets
      // the closed connection while the client is still checked out.
      const inScope = sim.students.inScope(-2, 12);
      const last = inScope.at(-1)!.dcid;
      await locker.query('begin');
      await locker.query(
        `insert into students (school_id, dcid, first_name, last_name, graduation_year) values ($1, $2, 'x', 'y', 2030)`,
        [schoolId, last],
      );
      const pid = await vi.waitFor(
        async () => {
          const r = await admin.query<{ pid: number }>(
            `select pid from pg_stat_activity where datname = current_database()
               and application_name = 'powerschool-sync-worker' and wait_event_type = 'Lock'`,
          );
          expect(r.rows[0], 'the apply waiting on our row').toBeDefined();
          return r.rows[0]!.pid;
        },
        { timeout: 90_000, interval: 50 },
      );
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await locker.query('rollback');
      // The same worker process retries the apply and finishes the run. Before the fix it died
      // here of "Connection terminated unexpectedly" (and, being the only worker on its queue,
      // left the run hanging): its exit ends the wait at once, with its last words.
      const result = await Promise.race([handle.result(), exited]);
      expect(result).toMatchObject({
        status: 'succeeded',
        counts: { fetched: inScope.length, created: inScope.length, invalid: 0 },
      });
      expect(
        await database.db.selectFrom('runs').select('status').where('id', '=', handle.workflowId).executeTakeFirst(),
      ).toEqual({ status: 'succeeded' });
      expect({ exitCode: child.child.exitCode, signal: child.child.signalCode }).toEqual({
        exitCode: null,
        signal: null,
      });
    } finally {
      await locker.end();
      await admin.end();
    }
  }, 120_000);
});
