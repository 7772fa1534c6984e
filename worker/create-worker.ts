import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerDeploymentOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type StudentSourceFactory } from '../activities/index.js';
import type { Config } from '../config.js';
import { createDb, type Db } from '../db/connection.js';
import { createEmailSender, type EmailSender } from '../email/sender.js';
import { createLogger } from '../logging/logger.js';
import { SecretBox } from '../secrets/secret-box.js';
import { createSyncMetrics } from './metrics.js';

/**
 * A sync worker in this process: the syncStudents workflow and its activities on the configured
 * task queue. worker/main.ts runs one; tests, the demo and the benchmarks build their own with
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
  /**
   * A prebuilt workflow bundle: its code (tests build one per suite) or a file of it
   * (worker/main.ts: WORKFLOW_BUNDLE_PATH). By default workflows/ is bundled at start, once per
   * process, in a child process (see workflowCode).
   */
  workflowBundle?: { code: string } | { codePath: string };
  /** Cap on PowerSchool page size (tests use small pages to exercise paging). */
  maxPageSize?: number;
  abandonedRunGraceMs?: number;
  /** Activities run at once by this worker (default 20): bounds memory and database load under fan-out. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Workflow executions kept in the worker's sticky cache (default 200). */
  maxCachedWorkflows?: number;
}

export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 20;
export const DEFAULT_MAX_CACHED_WORKFLOWS = 200;

export interface SyncWorker {
  worker: Worker;
  taskQueue: string;
  /** Runs until shutdown() (or a fatal error), then closes what createWorker opened. */
  run(): Promise<void>;
  shutdown(): void;
  /** For a worker that was never run: releases connections and the pool. */
  close(): Promise<void>;
}

/** `.ts` when run from source (tsx, vitest), `.js` if compiled. */
const OWN_EXTENSION = extname(fileURLToPath(import.meta.url));
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${OWN_EXTENSION}`, import.meta.url));
const BUNDLER_SCRIPT = fileURLToPath(new URL(`./build-workflow-bundle${OWN_EXTENSION}`, import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUNDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * Bundles the workflow code into `outFile` in a short-lived child process. webpack in the worker
 * itself would leave ~90 MB of RSS behind for the worker's whole life; in a child it is returned
 * to the system when the child exits. Fails with the child's output when it does.
 */
async function bundleInChildProcess(outFile: string): Promise<void> {
  const child = fork(BUNDLER_SCRIPT, [outFile, WORKFLOWS_PATH], {
    cwd: REPO_ROOT,
    // Only tsx for TypeScript sources: none of this process's flags (--inspect, --cpu-prof…).
    execArgv: OWN_EXTENSION === '.ts' ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`bundling the workflow code took over ${BUNDLE_TIMEOUT_MS / 1000} s; bundler output:\n${output}`),
        );
      }, BUNDLE_TIMEOUT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not start the workflow bundler (${BUNDLER_SCRIPT}): ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise();
        else
          reject(
            new Error(
              `could not bundle the workflow code (${WORKFLOWS_PATH}): the bundler process ` +
                `(${BUNDLER_SCRIPT}) exited with ${code ?? signal}; its output:\n${output.trim()}`,
            ),
          );
      });
    });
  } finally {
    process.off('exit', killOnExit);
  }
}

/** This process's workflow code, bundled on first use and shared by the workers it creates. */
let bundledCode: Promise<string> | undefined;

/**
 * The workflow bundle of this process: built once per process start by the child into a file of
 * its own in os.tmpdir(), read back and removed at once (a worker that is SIGKILLed later leaves
 * nothing behind). A failed build is not cached: the next worker tries again.
 */
function workflowCode(logger: Logger): Promise<string> {
  bundledCode ??= (async () => {
    const codePath = join(tmpdir(), `powerschool-sync-workflows-${process.pid}-${randomBytes(6).toString('hex')}.js`);
    const removeFile = () => rmSync(codePath, { force: true });
    process.once('exit', removeFile);
    const started = Date.now();
    try {
      await bundleInChildProcess(codePath);
      const code = await readFile(codePath, 'utf8');
      logger.info({ ms: Date.now() - started, bytes: code.length }, 'workflow code bundled (in a child process)');
      return code;
    } finally {
      process.off('exit', removeFile);
      removeFile();
    }
  })();
  const code = bundledCode;
  code.catch(() => {
    if (bundledCode === code) bundledCode = undefined;
  });
  return code;
}

/**
 * Worker Versioning: this worker polls as one Worker Deployment Version. Its workflows are PINNED
 * (syncStudents is the only one): a run stays on the code it started on until it ends, so a deploy
 * never replays an in-flight run, possibly held for days, on different workflow code. The old
 * version's workers must therefore keep running until its runs have drained.
 */
function versionedAs(version: { deploymentName: string; buildId: string }): WorkerDeploymentOptions {
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}

export async function createWorker(config: Config, deps: WorkerDeps = {}): Promise<SyncWorker> {
  const closers: (() => Promise<void>)[] = [];
  const logger = deps.logger ?? createLogger({ logLevel: config.logLevel, service: 'worker' });
  const taskQueue = deps.taskQueue ?? config.temporal.taskQueue;
  try {
    // Bundled while the connections below are opened.
    const bundled = deps.workflowBundle ? undefined : workflowCode(logger);
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
      // On the runtime's meter: exported when the runtime was installed with an exporter, a no-op otherwise.
      metrics: createSyncMetrics(Runtime.instance().metricMeter),
    });

    const workflowBundle = deps.workflowBundle ?? { code: await bundled! };
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      activities,
      workflowBundle,
      // Bounded so that a fan-out of many schools queues in Temporal rather than in this process's memory.
      maxConcurrentActivityTaskExecutions:
        deps.maxConcurrentActivityTaskExecutions ?? DEFAULT_MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: deps.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
      ...(config.workerDeployment ? { workerDeploymentOptions: versionedAs(config.workerDeployment) } : {}),
    });
    if (config.workerDeployment) logger.info(config.workerDeployment, 'worker polls as a Worker Deployment Version');

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
