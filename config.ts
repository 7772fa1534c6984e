// The service's configuration: every environment variable a production process reads, parsed and checked once.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * The service's whole configuration, read once from the environment at start.
 * Every variable is documented in the README's configuration table.
 */

/**
 * Development and test: the only modes where ALLOW_INSECURE_POWERSCHOOL may be set (a local
 * simulator speaks plain http on loopback) and where `npm run migrate` creates the database.
 */
const DEV_MODES = new Set(['development', 'test']);

/**
 * Fixed test credentials: filled in only under NODE_ENV=test, never in development, so a
 * development-mode process that reaches a network never accepts a token or a key anyone can read
 * here. The demo and the benchmarks pass random values of their own.
 */
export const TEST_API_TOKEN = 'test-only-api-token-never-use-in-production';
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');

/** Long enough that guessing is hopeless even at the rate limit (and what the contract promises). */
export const MIN_API_TOKEN_LENGTH = 32;

export const DEFAULT_API_METRICS_PORT = 9465;
export const DEFAULT_WORKER_METRICS_PORT = 9464;

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/powerschool_sync';

const booleanString = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const secretsKey = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(v), {
    message: 'must be base64 of exactly 32 bytes (generate one: openssl rand -base64 32)',
  });

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port');

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  DATABASE_URL: z
    .string()
    .default(DEFAULT_DATABASE_URL)
    .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), {
      message: 'must be a postgres:// connection URL',
    }),
  TEMPORAL_ADDRESS: hostPort.default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('powerschool-sync'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url().optional(),
  API_TOKENS: z.string().optional(),
  SECRETS_KEY: secretsKey.optional(),
  SECRETS_KEY_PREVIOUS: z.string().optional(),
  EMAIL_FROM: z.string().min(3).default('PowerSchool Sync <sync@localhost>'),
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_BASE_URL: z.url().optional(),
  ALLOW_INSECURE_POWERSCHOOL: booleanString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  API_RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(1200),
  API_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
  API_AUTH_FAILURES_MAX: z.coerce.number().int().min(1).default(20),
  SCHEDULE_RECONCILE_INTERVAL: z.coerce.number().int().min(1000).default(300_000),
  // Temporal refuses '.' and ':' in a deployment name and a leading '__' in either.
  WORKER_DEPLOYMENT_NAME: z
    .string()
    .max(255)
    .regex(/^(?!__)[^.:\s]+$/, "must not contain '.', ':' or spaces, nor start with '__'")
    .optional(),
  WORKER_BUILD_ID: z
    .string()
    .max(255)
    .regex(/^(?!__)\S+$/, "must not contain spaces, nor start with '__'")
    .optional(),
  WORKFLOW_BUNDLE_PATH: z.string().trim().optional(),
  API_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
});

export interface Config {
  /** NODE_ENV is development or test: local conveniences (creating the database) are on. */
  devMode: boolean;
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  /** publicUrl: the API's base URL as clients reach it (the OpenAPI document's server). */
  http: { host: string; port: number; publicUrl: string };
  /** Requests per window per client address on /v1; null turns the limit off. */
  rateLimit: { max: number; timeWindowMs: number } | null;
  /** Failed authentications per window per client address before 429; a bucket of its own. */
  authFailures: { max: number; timeWindowMs: number };
  apiTokens: string[];
  /** Current key first; older keys after it, still accepted for decryption (rotation). */
  secretsKeys: Buffer[];
  email: { from: string; resendApiKey: string | undefined; resendBaseUrl: string | undefined };
  allowInsecurePowerSchool: boolean;
  logLevel: string;
  /** How often the worker brings every schedule in line with the database (ms). */
  scheduleReconcileIntervalMs: number;
  /**
   * Worker only: the Worker Deployment Version this worker polls as (Worker Versioning), or null
   * for an unversioned worker. A versioned worker gets no task until its version is made current.
   */
  workerDeployment: { deploymentName: string; buildId: string } | null;
  /**
   * Worker only: a workflow bundle built ahead (worker/build-workflow-bundle.ts, e.g. in the image
   * build) from the same workflows/ as the worker runs, as an absolute path; undefined: the worker
   * bundles workflows/ at start, in a child process.
   */
  workflowBundlePath: string | undefined;
  /** Prometheus endpoints of the API and the worker; null: off (the variable is `0`, or unset under NODE_ENV=test). */
  metrics: { apiPort: number | null; workerPort: number | null };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Which process is reading the configuration: only the API needs bearer tokens. */
export type Role = 'api' | 'worker' | 'tool';

export function loadConfig(env: NodeJS.ProcessEnv = process.env, role: Role = 'tool'): Config {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const devMode = DEV_MODES.has(e.NODE_ENV ?? '');
  const testMode = e.NODE_ENV === 'test';

  if (e.ALLOW_INSECURE_POWERSCHOOL && !devMode) {
    throw new ConfigError(
      `ALLOW_INSECURE_POWERSCHOOL: only allowed when NODE_ENV is development or test (NODE_ENV is ${e.NODE_ENV ? `"${e.NODE_ENV}"` : 'unset'})`,
    );
  }

  const tokens = (e.API_TOKENS ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) {
    if (role === 'api' && !testMode) throw new ConfigError('API_TOKENS: required (comma-separated bearer tokens)');
    if (testMode) tokens.push(TEST_API_TOKEN);
  }
  if (tokens.some((t) => t.length < MIN_API_TOKEN_LENGTH)) {
    throw new ConfigError(
      `API_TOKENS: each token must be at least ${MIN_API_TOKEN_LENGTH} characters (generate one: openssl rand -hex 24)`,
    );
  }

  let key = e.SECRETS_KEY;
  if (!key) {
    if (role !== 'tool' && !testMode) throw new ConfigError('SECRETS_KEY: required (base64 of 32 random bytes)');
    if (testMode) key = TEST_SECRETS_KEY;
  }
  const previous = (e.SECRETS_KEY_PREVIOUS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  for (const p of previous) {
    if (!secretsKey.safeParse(p).success)
      throw new ConfigError('SECRETS_KEY_PREVIOUS: each key must be base64 of exactly 32 bytes');
  }

  if (Boolean(e.WORKER_BUILD_ID) !== Boolean(e.WORKER_DEPLOYMENT_NAME)) {
    const [set, missing] = e.WORKER_BUILD_ID
      ? ['WORKER_BUILD_ID', 'WORKER_DEPLOYMENT_NAME']
      : ['WORKER_DEPLOYMENT_NAME', 'WORKER_BUILD_ID'];
    throw new ConfigError(`${missing}: required when ${set} is set (Worker Versioning needs both)`);
  }
  const workflowBundlePath = e.WORKFLOW_BUNDLE_PATH ? resolve(e.WORKFLOW_BUNDLE_PATH) : undefined;
  if (role === 'worker' && workflowBundlePath && !existsSync(workflowBundlePath)) {
    throw new ConfigError(`WORKFLOW_BUNDLE_PATH: no such file: ${workflowBundlePath}`);
  }

  return {
    devMode,
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/+$/, ''),
    },
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(
        /\/+$/,
        '',
      ),
    },
    rateLimit:
      e.API_RATE_LIMIT_MAX === 0 ? null : { max: e.API_RATE_LIMIT_MAX, timeWindowMs: e.API_RATE_LIMIT_WINDOW_MS },
    authFailures: { max: e.API_AUTH_FAILURES_MAX, timeWindowMs: e.API_RATE_LIMIT_WINDOW_MS },
    apiTokens: tokens,
    // A tool without SECRETS_KEY gets no key at all: opening a secret then fails loudly.
    secretsKeys: (key ? [key, ...previous] : []).map((k) => Buffer.from(k, 'base64')),
    email: { from: e.EMAIL_FROM, resendApiKey: e.RESEND_API_KEY, resendBaseUrl: e.RESEND_BASE_URL },
    allowInsecurePowerSchool: e.ALLOW_INSECURE_POWERSCHOOL,
    logLevel: e.LOG_LEVEL,
    scheduleReconcileIntervalMs: e.SCHEDULE_RECONCILE_INTERVAL,
    workerDeployment:
      e.WORKER_BUILD_ID && e.WORKER_DEPLOYMENT_NAME
        ? { deploymentName: e.WORKER_DEPLOYMENT_NAME, buildId: e.WORKER_BUILD_ID }
        : null,
    workflowBundlePath,
    // Off by default under NODE_ENV=test: test files start APIs and workers side by side, and a
    // fixed port would make them collide.
    metrics: {
      apiPort: (e.API_METRICS_PORT ?? (testMode ? 0 : DEFAULT_API_METRICS_PORT)) || null,
      workerPort: (e.WORKER_METRICS_PORT ?? (testMode ? 0 : DEFAULT_WORKER_METRICS_PORT)) || null,
    },
  };
}

/** For entry points: load or exit with one clear line naming the variable. */
export function loadConfigOrExit(role: Role): Config {
  try {
    return loadConfig(process.env, role);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
