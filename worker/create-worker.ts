import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { createActivities, type StudentSourceFactory } from '../activities/index.js';
import type { Config } from '../config.js';
import { createDb, type Db } from '../db/connection.js';
import { createEmailSender, type EmailSender } from '../email/sender.js';
import { SecretBox } from '../secrets/secret-box.js';

/**
 * A sync worker in this process: the syncStudents workflow and its activities on the configured
 * task queue. worker.ts runs one; tests, the demo and the benchmarks build their own with
 * whatever dependencies they want to swap in. Whatever this function creates, close() closes.
 */

export interface WorkerDeps {
  db?: Db;
  /** The worker's own gRPC connection to Temporal. */
  connection?: NativeConnection;
  /** Used by beginRun to see whether a run holding the school's slot is still alive. */
  temporalClient?: Client;
  emailSender?: EmailSender;
  powerschoolClientFactory?: StudentSourceFactory;
  logger?: Logger;
  taskQueue?: string;
  /** A prebuilt workflow bundle (tests build one per suite); by default workflows/ is bundled now. */
  workflowBundle?: { code: string };
  /** Cap on PowerSchool page size (tests use small pages to exercise paging). */
  maxPageSize?: number;
  abandonedRunGraceMs?: number;
}

export interface SyncWorker {
  worker: Worker;
  taskQueue: string;
  /** Runs until shutdown() (or a fatal error), then closes what createWorker opened. */
  run(): Promise<void>;
  shutdown(): void;
  /** For a worker that was never run: releases connections and the pool. */
  close(): Promise<void>;
}

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export async function createWorker(config: Config, deps: WorkerDeps = {}): Promise<SyncWorker> {
  const closers: (() => Promise<void>)[] = [];
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const taskQueue = deps.taskQueue ?? config.temporal.taskQueue;
  try {
    const db = deps.db ?? createDb(config.databaseUrl, { applicationName: 'powerschool-sync-worker' });
    if (!deps.db) closers.push(() => db.destroy());
    const connection = deps.connection ?? (await NativeConnection.connect({ address: config.temporal.address }));
    if (!deps.connection) closers.push(() => connection.close());
    let temporalClient = deps.temporalClient;
    if (!temporalClient) {
      const clientConnection = await Connection.connect({ address: config.temporal.address });
      closers.push(() => clientConnection.close());
      temporalClient = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    }

    const activities = createActivities({
      db,
      config,
      secretBox: new SecretBox(config.secretsKeys),
      emailSender: deps.emailSender ?? createEmailSender(config.email, db, logger),
      temporalClient,
      powerschoolClientFactory: deps.powerschoolClientFactory,
      logger,
      maxPageSize: deps.maxPageSize,
      abandonedRunGraceMs: deps.abandonedRunGraceMs,
    });

    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      activities,
      ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    });

    const close = async () => {
      for (const closeOne of closers.reverse()) await closeOne().catch(() => {});
      closers.length = 0;
    };
    return {
      worker,
      taskQueue,
      async run() {
        try {
          await worker.run();
        } finally {
          await close();
        }
      },
      shutdown() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      },
      close,
    };
  } catch (err) {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => {});
    throw err;
  }
}
