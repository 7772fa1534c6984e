import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DEFAULT_DATABASE_URL } from '../../config.js';
import { dropDatabase, ensureDatabase } from '../../db/migrate.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { PROJECT_ROOT } from './go-build.js';
import { ManagedProcess } from './managed-process.js';
import { freePort, freePortBetween, isPortFree } from './ports.js';
import { provisionTemporalCli } from './temporal-cli.js';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags.js';
import {
  provisionGoTool,
  TEMPORAL_SERVER,
  TEMPORAL_SQL_TOOL,
  TEMPORAL_UI_SERVER,
} from './temporal-cluster-binaries.js';

/**
 * A production-shaped stack on this machine: a Temporal server (frontend, history, matching and
 * worker services in one process) on PostgreSQL for both persistence and visibility, its web UI,
 * the HTTP API and several sync workers, each a process of its own started as production starts
 * it. The server is set up by the same scripts and configured by the same environment variables as
 * in docker-compose.yml (deploy/). `npm run cluster` and test/cluster stand on it.
 */

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

export const DEFAULT_CLUSTER_PREFIX = 'powerschool_sync_cluster';
export const DEFAULT_DEPLOYMENT_NAME = 'powerschool-sync';
const NAMESPACE = 'default';
const TASK_QUEUE = 'powerschool-sync';

export interface ClusterOptions {
  /** Databases `<prefix>` (the service's), `<prefix>_temporal` and `<prefix>_temporal_visibility`. */
  prefix?: string;
  /** The PostgreSQL server (its database path is ignored). Default: DATABASE_URL's server. */
  postgresUrl?: string;
  /** Drop the cluster's databases first (and forget its API token and secrets key). */
  fresh?: boolean;
  workers?: number;
  /**
   * Worker Versioning: the Worker Deployment the workers poll as. The build id defaults to a hash
   * of the workflow bundle, so the same workflow code is the same version. `false`: unversioned.
   */
  versioning?: { deploymentName?: string; buildId?: string } | false;
  /** Serve the Temporal web UI (built with Go on first use; without it the cluster runs headless). */
  ui?: boolean;
  /** An in-process PowerSchool simulator (the API and workers then allow its http:// loopback URL). */
  simulator?: SimulatorOptions | false;
  /** Preferred public ports (0: any free one); a port in use is replaced by a free one (and said so). */
  ports?: { temporal?: number; ui?: number; api?: number; workerMetrics?: number };
  /** State of this cluster on disk: logs, the workflow bundle, its API token and secrets key. */
  dataDir?: string;
  log?: (line: string) => void;
}

export interface ClusterWorker {
  process: ManagedProcess;
  /** Temporal's identity of the worker (the SDK's default, `pid@host`) starts with this. */
  identityPrefix: string;
  metricsPort: number;
  buildId: string | null;
}

export interface Cluster {
  prefix: string;
  /** Connection URLs of the service's database and of Temporal's two. */
  databases: { app: string; temporal: string; visibility: string };
  temporalAddress: string;
  /** null when the cluster runs headless. */
  uiUrl: string | null;
  apiUrl: string;
  apiToken: string;
  simulator: Simulator | undefined;
  deploymentName: string | null;
  buildId: string | null;
  server: ManagedProcess;
  ui: ManagedProcess | undefined;
  apiProcess: ManagedProcess;
  workers: ClusterWorker[];
  client: Client;
  cliPath: string;
  startedInMs: number;
  /** Calls the HTTP API with the cluster's bearer token; throws on a non-2xx answer. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** One more worker process; `buildId` makes it a worker of another Worker Deployment Version. */
  startWorker(options?: { buildId?: string }): Promise<ClusterWorker>;
  /** `temporal worker deployment set-current-version`: new runs start on this build from now on. */
  setCurrentVersion(buildId: string): Promise<void>;
  /** Stops the Temporal server and starts it again on the same databases and ports. */
  restartTemporal(): Promise<void>;
  /** What runs where, as lines for a terminal. */
  summary(): string[];
  stop(options?: { dropDatabases?: boolean }): Promise<void>;
}

function databaseUrl(server: URL, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function portOr(preferred: number | undefined, what: string, log: (line: string) => void): Promise<number> {
  if (!preferred) return freePort();
  if (await isPortFree(preferred)) return preferred;
  const port = await freePort();
  log(`  port ${preferred} (${what}) is in use; using ${port} instead`);
  return port;
}

/**
 * Where Temporal's databases are, in the variables the temporalio/server and admin-tools images read
 * (deploy/temporal-server.yaml and deploy/temporal-setup-schema.sh read the same).
 */
export function temporalPostgresEnv(server: URL, prefix: string): Record<string, string> {
  return {
    DB: 'postgres12',
    POSTGRES_SEEDS: server.hostname.replace(/^\[|\]$/g, ''),
    DB_PORT: server.port || '5432',
    POSTGRES_USER: decodeURIComponent(server.username) || 'postgres',
    POSTGRES_PWD: decodeURIComponent(server.password),
    DBNAME: `${prefix}_temporal`,
    VISIBILITY_DBNAME: `${prefix}_temporal_visibility`,
  };
}

/** The Temporal server's environment: its databases, loopback only, free ports for its inner services. */
export async function temporalServerEnv(
  server: URL,
  prefix: string,
  grpcPort: number,
): Promise<Record<string, string>> {
  // Temporal keeps membership ports in a smallint column: they must be below 32768.
  const membershipPort = () => freePortBetween(20_000, 32_767);
  return {
    ...temporalPostgresEnv(server, prefix),
    LOG_LEVEL: 'warn',
    BIND_ON_IP: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(grpcPort),
    FRONTEND_HTTP_PORT: String(await freePort()),
    FRONTEND_MEMBERSHIP_PORT: String(await membershipPort()),
    HISTORY_GRPC_PORT: String(await freePort()),
    HISTORY_MEMBERSHIP_PORT: String(await membershipPort()),
    MATCHING_GRPC_PORT: String(await freePort()),
    MATCHING_MEMBERSHIP_PORT: String(await membershipPort()),
    WORKER_GRPC_PORT: String(await freePort()),
    WORKER_MEMBERSHIP_PORT: String(await membershipPort()),
    DYNAMIC_CONFIG_FILE_PATH: join(PROJECT_ROOT, 'deploy', 'dynamicconfig.yaml'),
  };
}

/** Runs a short job (a set-up script, the bundler, migrate) to completion; fails with its output. */
function runJob(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  timeoutMs = 300_000,
): Promise<string> {
  const job = new ManagedProcess({ name, command, args, cwd: PROJECT_ROOT, env, logFile });
  const timer = setTimeout(() => void job.kill(), timeoutMs);
  return job.whenExited().then(() => {
    clearTimeout(timer);
    if (job.exitDescription !== 'exited with code 0') throw job.failure(job.exitDescription ?? 'failed');
    return job.lastLines(5);
  });
}

/** The cluster's API token and secrets key, kept with its databases (sealed secrets outlive a restart). */
function clusterSecrets(dataDir: string, fresh: boolean): { apiToken: string; secretsKey: string } {
  const file = join(dataDir, 'secrets.json');
  if (!fresh && existsSync(file))
    return JSON.parse(readFileSync(file, 'utf8')) as { apiToken: string; secretsKey: string };
  const secrets = { apiToken: randomBytes(24).toString('hex'), secretsKey: randomBytes(32).toString('base64') };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const prefix = options.prefix ?? DEFAULT_CLUSTER_PREFIX;
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix))
    throw new Error(`cluster prefix "${prefix}" must be lower-case letters, digits and _`);
  const dataDir = options.dataDir ?? join(PROJECT_ROOT, '.data', 'cluster', prefix);
  const logDir = join(dataDir, 'logs');
  const binDir = join(dataDir, 'bin');
  mkdirSync(logDir, { recursive: true });

  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
  };

  try {
    // 1. Binaries: built with Go once per machine, then taken from the per-user cache.
    const [serverBin, sqlTool, cliPath] = [
      await provisionGoTool(TEMPORAL_SERVER, log),
      await provisionGoTool(TEMPORAL_SQL_TOOL, log),
      await provisionTemporalCli(log),
    ];
    let uiBin: string | undefined;
    if (options.ui !== false) {
      uiBin = await provisionGoTool(TEMPORAL_UI_SERVER, log).catch((err: unknown) => {
        log(`  the Temporal UI server could not be built, so the cluster runs headless (the CLI's UI serves only`);
        log(`  its own dev server): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        return undefined;
      });
    }
    // The deploy/ scripts call `temporal` and `temporal-sql-tool` by name, as in the admin-tools image.
    rmSync(binDir, { recursive: true, force: true });
    mkdirSync(binDir, { recursive: true });
    symlinkSync(cliPath, join(binDir, 'temporal'));
    symlinkSync(sqlTool, join(binDir, 'temporal-sql-tool'));
    const basePath = `${binDir}:${process.env.PATH ?? ''}`;

    // 2. Databases: the service's and Temporal's two, all carrying the prefix.
    const server = new URL(options.postgresUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
    server.pathname = '/';
    const databases = {
      app: databaseUrl(server, prefix),
      temporal: databaseUrl(server, `${prefix}_temporal`),
      visibility: databaseUrl(server, `${prefix}_temporal_visibility`),
    };
    if (options.fresh) for (const url of Object.values(databases)) await dropDatabase(url);
    const secrets = clusterSecrets(dataDir, options.fresh ?? false);

    const [temporalPort, uiPort, apiPort] = [
      await portOr(options.ports?.temporal ?? 7233, 'Temporal gRPC', log),
      await portOr(options.ports?.ui ?? 8080, 'Temporal UI', log),
      await portOr(options.ports?.api ?? 3000, 'API', log),
    ];
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const postgresEnv = temporalPostgresEnv(server, prefix);
    const serverEnv: NodeJS.ProcessEnv = {
      PATH: basePath,
      HOME: process.env.HOME,
      ...(await temporalServerEnv(server, prefix, temporalPort)),
    };

    // The workflow bundle is built once for every worker (as the Docker image does), while the
    // Temporal schemas are set up and the server starts.
    const bundlePath = join(dataDir, 'workflow-bundle.js');
    const bundled = runJob(
      'workflow bundler',
      process.execPath,
      ['--import', 'tsx', 'worker/build-workflow-bundle.ts', bundlePath],
      { PATH: basePath, HOME: process.env.HOME },
      join(logDir, 'bundle.log'),
    );
    bundled.catch(() => {}); // awaited below; not an unhandled rejection meanwhile

    // 3. Temporal's schemas (deploy/temporal-setup-schema.sh, as the compose file's schema job).
    log(`  setting up Temporal's schemas in ${postgresEnv.DBNAME} and ${postgresEnv.VISIBILITY_DBNAME}…`);
    await runJob(
      'temporal-setup-schema.sh',
      'sh',
      [join(PROJECT_ROOT, 'deploy', 'temporal-setup-schema.sh')],
      { PATH: basePath, HOME: process.env.HOME, ...postgresEnv },
      join(logDir, 'temporal-setup-schema.log'),
    );

    // 4. The server, rendered from deploy/temporal-server.yaml by the server itself.
    const startServer = () =>
      new ManagedProcess({
        name: 'temporal-server',
        command: serverBin,
        args: ['--root', PROJECT_ROOT, '--config', 'deploy', '--env', 'temporal-server', '--allow-no-auth', 'start'],
        cwd: PROJECT_ROOT,
        env: serverEnv,
        logFile: join(logDir, 'temporal-server.log'),
      });
    let temporalServer = startServer();
    stops.push(() => temporalServer.stop());
    await temporalServer.waitUntil(async () => !(await isPortFree(temporalPort)), 'listening on gRPC');
    const connection = await Connection.connect({ address: temporalAddress, connectTimeout: 60_000 });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: NAMESPACE });
    const serving = (server: ManagedProcess) =>
      server.waitUntil(
        async () => {
          await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
          return true;
        },
        'ready',
        120_000,
      );
    await serving(temporalServer);

    // 5. Namespace and search attributes (deploy/temporal-create-namespace.sh, as the compose job).
    await runJob(
      'temporal-create-namespace.sh',
      'sh',
      [join(PROJECT_ROOT, 'deploy', 'temporal-create-namespace.sh')],
      { PATH: basePath, HOME: process.env.HOME, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: NAMESPACE },
      join(logDir, 'temporal-create-namespace.log'),
      120_000,
    );

    // 6. The UI, rendered from deploy/temporal-ui.yaml by the UI server itself.
    let ui: ManagedProcess | undefined;
    const uiUrl = `http://127.0.0.1:${uiPort}`;
    if (uiBin) {
      const uiProcess = new ManagedProcess({
        name: 'temporal-ui-server',
        command: uiBin,
        args: ['--root', PROJECT_ROOT, '--config', 'deploy', '--env', 'temporal-ui', 'start'],
        cwd: PROJECT_ROOT,
        env: {
          PATH: basePath,
          HOME: process.env.HOME,
          TEMPORAL_ADDRESS: temporalAddress,
          TEMPORAL_UI_PORT: String(uiPort),
          TEMPORAL_CORS_ORIGINS: `http://127.0.0.1:${apiPort}`,
        },
        logFile: join(logDir, 'temporal-ui-server.log'),
      });
      ui = uiProcess;
      stops.push(() => uiProcess.stop());
    }

    // 7. The service's database, migrated by `npm run migrate` as the compose file's migrate job.
    await ensureDatabase(databases.app);
    const simulator = options.simulator === false ? undefined : await startSimulator({ port: 0, ...options.simulator });
    if (simulator) stops.push(() => simulator.close());
    const appEnv: NodeJS.ProcessEnv = {
      PATH: basePath,
      HOME: process.env.HOME,
      // The simulator is plain http:// on loopback, which only development allows.
      NODE_ENV: simulator ? 'development' : 'production',
      ALLOW_INSECURE_POWERSCHOOL: simulator ? 'true' : 'false',
      DATABASE_URL: databases.app,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      TEMPORAL_UI_URL: uiUrl,
      API_TOKENS: secrets.apiToken,
      SECRETS_KEY: secrets.secretsKey,
      LOG_LEVEL: 'info',
      ...(process.env.RESEND_API_KEY ? { RESEND_API_KEY: process.env.RESEND_API_KEY } : {}),
      ...(process.env.EMAIL_FROM ? { EMAIL_FROM: process.env.EMAIL_FROM } : {}),
    };
    await runJob(
      'migrate',
      process.execPath,
      ['--import', 'tsx', 'scripts/migrate.ts'],
      appEnv,
      join(logDir, 'migrate.log'),
    );

    // 8. The API.
    const apiProcess = new ManagedProcess({
      name: 'api',
      command: process.execPath,
      args: ['--import', 'tsx', 'api/main.ts'],
      cwd: PROJECT_ROOT,
      env: { ...appEnv, HOST: '127.0.0.1', PORT: String(apiPort), API_METRICS_PORT: String(await freePort()) },
      logFile: join(logDir, 'api.log'),
    });
    stops.push(() => apiProcess.stop());
    const apiUrl = `http://127.0.0.1:${apiPort}`;

    // 9. The workers, on one bundle, each with its own metrics port.
    await bundled;
    const versioning = options.versioning === false ? undefined : (options.versioning ?? {});
    const deploymentName = versioning ? (versioning.deploymentName ?? DEFAULT_DEPLOYMENT_NAME) : null;
    const buildId = versioning
      ? (versioning.buildId ?? createHash('sha256').update(readFileSync(bundlePath)).digest('hex').slice(0, 12))
      : null;
    const workers: ClusterWorker[] = [];
    let nextMetricsPort = options.ports?.workerMetrics ?? 9464;
    const startWorker = async (worker: { buildId?: string } = {}): Promise<ClusterWorker> => {
      const metricsPort = await portOr(nextMetricsPort, 'worker metrics', log);
      nextMetricsPort = metricsPort + 1;
      const workerBuildId = worker.buildId ?? buildId;
      const n = workers.length + 1;
      const child = new ManagedProcess({
        name: `worker ${n}`,
        command: process.execPath,
        args: [...WORKER_NODE_FLAGS, '--import', 'tsx', 'worker/main.ts'],
        cwd: PROJECT_ROOT,
        env: {
          ...appEnv,
          WORKFLOW_BUNDLE_PATH: bundlePath,
          WORKER_METRICS_PORT: String(metricsPort),
          ...(deploymentName && workerBuildId
            ? { WORKER_DEPLOYMENT_NAME: deploymentName, WORKER_BUILD_ID: workerBuildId }
            : {}),
        },
        logFile: join(logDir, `worker-${n}.log`),
      });
      stops.push(() => child.stop());
      const entry = { process: child, identityPrefix: `${child.pid}@`, metricsPort, buildId: workerBuildId };
      workers.push(entry);
      // Ready when Temporal sees it polling the task queue.
      await child.waitUntil(async () => {
        const res = await connection.workflowService.describeTaskQueue({
          namespace: NAMESPACE,
          taskQueue: { name: TASK_QUEUE, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return (res.pollers ?? []).some((p) => p.identity?.startsWith(entry.identityPrefix));
      }, 'a poller of the task queue');
      return entry;
    };
    for (let i = 0; i < (options.workers ?? 2); i++) await startWorker();

    // deploy/temporal-set-current-version.sh, as the compose file's worker-version job.
    const setCurrentVersion = async (target: string) => {
      if (!deploymentName) throw new Error('the cluster runs unversioned workers');
      await runJob(
        'temporal-set-current-version.sh',
        'sh',
        [join(PROJECT_ROOT, 'deploy', 'temporal-set-current-version.sh')],
        {
          PATH: basePath,
          HOME: process.env.HOME,
          TEMPORAL_ADDRESS: temporalAddress,
          TEMPORAL_NAMESPACE: NAMESPACE,
          WORKER_DEPLOYMENT_NAME: deploymentName,
          WORKER_BUILD_ID: target,
        },
        join(logDir, 'temporal-set-current-version.log'),
        120_000,
      );
    };
    if (buildId) await setCurrentVersion(buildId);

    await apiProcess.waitUntil(async () => (await fetch(`${apiUrl}/readyz`)).ok, 'ready');
    if (ui) await ui.waitUntil(async () => (await fetch(uiUrl)).ok, 'serving');

    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(apiUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${secrets.apiToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };

    const cluster: Cluster = {
      prefix,
      databases,
      temporalAddress,
      uiUrl: ui ? uiUrl : null,
      apiUrl,
      apiToken: secrets.apiToken,
      simulator,
      deploymentName,
      buildId,
      get server() {
        return temporalServer;
      },
      ui,
      apiProcess,
      workers,
      client,
      cliPath,
      startedInMs: Date.now() - started,
      api,
      startWorker,
      setCurrentVersion,
      async restartTemporal() {
        await temporalServer.stop();
        temporalServer = startServer();
        await serving(temporalServer);
      },
      summary() {
        const lines = [
          `  Temporal server    ${temporalAddress} (pid ${temporalServer.pid}), PostgreSQL databases ${postgresEnv.DBNAME} + ${postgresEnv.VISIBILITY_DBNAME} on ${server.host}`,
          ui
            ? `  Temporal UI        ${uiUrl}`
            : `  Temporal UI        none: headless (the UI server was not built; the CLI's UI serves only its own dev server)`,
          `  API                ${apiUrl} (docs ${apiUrl}/docs), pid ${apiProcess.pid}, database ${prefix}`,
        ];
        workers.forEach((w, i) =>
          lines.push(
            `  worker ${i + 1}           pid ${w.process.pid}${w.process.running ? '' : ' (stopped)'}, ` +
              `${w.buildId ? `Worker Deployment ${deploymentName} build ${w.buildId}` : 'unversioned'}, ` +
              `WORKER_METRICS_PORT ${w.metricsPort}`,
          ),
        );
        if (simulator)
          lines.push(
            `  PowerSchool (sim)  ${simulator.url} client id ${simulator.clientId} secret ${simulator.clientSecret}`,
          );
        lines.push(`  logs               ${logDir}`);
        return lines;
      },
      async stop({ dropDatabases = false } = {}) {
        await stopAll();
        if (!dropDatabases) return;
        for (const url of Object.values(databases))
          await dropDatabase(url).catch((err: unknown) =>
            log(
              `  could not drop ${new URL(url).pathname.slice(1)}: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
      },
    };
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
