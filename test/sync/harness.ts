import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { NotNull } from 'kysely';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../config.js';
import type { Db } from '../../db/connection.js';
import type { NewIntegration } from '../../db/types.js';
import type { EmailSender } from '../../email/sender.js';
import { startSimulator, type SimulatedStudent, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { SYNC_WORKFLOW_TYPE, type SyncStudentsResult, type SyncStudentsWorkflowInput } from '../../workflows/types.js';
import { createWorker, type SyncWorker, type WorkerDeps } from '../../worker/create-worker.js';
import { testDb } from '../helpers/db.js';
import { testClient, testEnv, uniqueTaskQueue, workflowBundle } from '../helpers/env.js';

/** Shared set-up for the sync pipeline's end-to-end tests: config, integrations, workers, runs. */

export function syncTestConfig(env: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_URL: testEnv.databaseUrl,
      TEMPORAL_ADDRESS: testEnv.temporalAddress,
      TEMPORAL_UI_URL: testEnv.temporalUiUrl,
      ALLOW_INSECURE_POWERSCHOOL: 'true',
      LOG_LEVEL: 'silent',
      ...env,
    },
    'worker',
  );
}

export interface IntegrationSettings {
  grades?: { from: number; to: number };
  mapping?: {
    powerschoolId?: 'DCID' | 'STUDENT_NUMBER';
    dateOfBirth?: boolean;
    gender?: boolean;
    gradeLevel?: boolean;
  };
  /** PowerSchool school numbers; omitted: every school. */
  schools?: number[];
  testRun?: boolean;
  active?: boolean;
  notifications?: { enabled: boolean; recipients: string[] };
  /** The safety hold; omitted: on with the default thresholds. */
  safety?: { enabled: boolean };
  clientSecret?: string;
}

/** Writes (or replaces) a school's integration the way the API stores it: secret sealed to the school. */
export async function putIntegration(
  db: Db,
  config: Config,
  schoolId: string,
  sim: Pick<Simulator, 'url' | 'clientId' | 'clientSecret'>,
  s: IntegrationSettings = {},
): Promise<void> {
  const sealed = new SecretBox(config.secretsKeys).seal(s.clientSecret ?? sim.clientSecret, schoolId);
  const row: NewIntegration = {
    school_id: schoolId,
    server_url: sim.url,
    client_id: sim.clientId,
    client_secret_encrypted: sealed.ciphertext,
    client_secret_key_id: sealed.keyId,
    active: s.active ?? true,
    test_run: s.testRun ?? false,
    notifications_enabled: s.notifications?.enabled ?? false,
    notification_recipients: s.notifications?.recipients ?? [],
    grade_from: s.grades?.from ?? 9,
    grade_to: s.grades?.to ?? 12,
    mapping_powerschool_id: s.mapping?.powerschoolId ?? 'DCID',
    mapping_date_of_birth: s.mapping?.dateOfBirth ?? false,
    mapping_gender: s.mapping?.gender ?? false,
    mapping_grade_level: s.mapping?.gradeLevel ?? false,
    powerschool_schools: s.schools ?? [],
    ...(s.safety ? { safety_enabled: s.safety.enabled } : {}),
  };
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('integrations').where('school_id', '=', schoolId).execute();
    await tx.insertInto('integrations').values(row).execute();
  });
}

export const silentLogger = pino({ level: 'silent' });

/** A worker on its own task queue, running in the background of this test process. */
export async function startSyncWorker(
  client: Client,
  config: Config,
  db: Db,
  deps: Partial<WorkerDeps> & { emailSender?: EmailSender } = {},
): Promise<SyncWorker & { stop(): Promise<void> }> {
  const taskQueue = deps.taskQueue ?? uniqueTaskQueue('sync');
  const sync = await createWorker(config, {
    db,
    temporalClient: client,
    workflowBundle: workflowBundle(),
    logger: silentLogger,
    taskQueue,
    ...deps,
  });
  const running = sync.run();
  return {
    ...sync,
    async stop() {
      sync.shutdown();
      await running;
    },
  };
}

export function newRunId(schoolId: string): string {
  return `powerschool-sync-${schoolId}-${new Date().toISOString().replace(/[:.]/g, '')}-${randomUUID().slice(0, 6)}`;
}

export async function startSync(
  client: Client,
  taskQueue: string,
  input: SyncStudentsWorkflowInput,
  workflowId = newRunId(input.schoolId),
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return client.workflow.start(SYNC_WORKFLOW_TYPE, {
    taskQueue,
    workflowId,
    args: [input],
    workflowExecutionTimeout: '5 minutes',
    staticSummary: `PowerSchool sync of school ${input.schoolId}`,
  });
}

export async function runSync(
  client: Client,
  taskQueue: string,
  input: SyncStudentsWorkflowInput,
): Promise<SyncStudentsResult & { workflowId: string }> {
  const handle = await startSync(client, taskQueue, input);
  const result = (await handle.result()) as SyncStudentsResult;
  return { ...result, workflowId: handle.workflowId };
}

/** A simulator per test, closed by the caller. */
export function startTestSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ students: 300, maxPageSize: 20, seed: 7, ...options });
}

/** A student as our students table should hold it after a sync, from the simulator's record. */
export interface ExpectedStudent {
  dcid: string;
  student_number: string | null;
  first_name: string;
  last_name: string;
  graduation_year: number;
  date_of_birth: string | null;
  gender: string | null;
}

export function expectedStudent(
  s: SimulatedStudent,
  mapping: { dateOfBirth: boolean; gender: boolean },
): ExpectedStudent {
  return {
    dcid: String(s.dcid),
    student_number: s.student_number === '' ? null : String(Number(s.student_number)),
    first_name: s.first_name.trim().normalize('NFC'),
    last_name: s.last_name.trim().normalize('NFC'),
    graduation_year: s.sched_yearofgraduation,
    date_of_birth: mapping.dateOfBirth ? s.dob : null,
    gender: mapping.gender && s.gender ? s.gender.toUpperCase() : null,
  };
}

/** The school's students that have a DCID (every one the sync wrote; unlinked imported accounts have none). */
export async function studentsOf(db: Db, schoolId: string) {
  return db
    .selectFrom('students')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('dcid', 'is not', null)
    .$narrowType<{ dcid: NotNull; graduation_year: NotNull }>()
    .orderBy('dcid')
    .execute();
}

export function comparable(rows: Awaited<ReturnType<typeof studentsOf>>): ExpectedStudent[] {
  return rows.map((r) => ({
    dcid: r.dcid,
    student_number: r.student_number,
    first_name: r.first_name,
    last_name: r.last_name,
    graduation_year: r.graduation_year,
    date_of_birth: r.date_of_birth,
    gender: r.gender,
  }));
}

export async function runRow(db: Db, runId: string) {
  return db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
}

/** The departure reason the contract gives a record PowerSchool still has, from its ENROLL_STATUS. */
export function departureReasonOf(enrollStatus: number): string {
  if (enrollStatus === 3) return 'graduated';
  if (enrollStatus === 2) return 'transferred';
  return enrollStatus !== 0 ? 'inactive' : 'out_of_scope';
}

export interface SyncStack {
  config: Config;
  db: Db;
  client: Client;
  sim: Simulator;
  worker: Awaited<ReturnType<typeof startSyncWorker>>;
}

/**
 * The stack a sync test file shares: the test database, a Temporal client, a simulator and a worker
 * on a task queue of its own, started before the file's tests and stopped after them. Its fields
 * are set in beforeAll, so read them inside tests.
 */
export function useSyncStack(options: { simulator: SimulatorOptions; db?: Parameters<typeof testDb>[0] }): SyncStack {
  const stack = { config: syncTestConfig() } as SyncStack;
  beforeAll(async () => {
    stack.db = testDb(options.db);
    stack.client = await testClient();
    stack.sim = await startTestSimulator(options.simulator);
    stack.worker = await startSyncWorker(stack.client, stack.config, stack.db);
  });
  afterAll(async () => {
    await stack.worker?.stop();
    await stack.sim?.close();
    await stack.db?.destroy();
    await stack.client?.connection.close();
  });
  return stack;
}
