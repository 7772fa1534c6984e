import { z } from 'zod';

/**
 * The service's whole configuration, read once from the environment at start.
 * Every variable is documented in the README's configuration table (and in design/contract.md).
 */

const DEV_MODES = new Set(['development', 'test']);

/** Fixed development credentials: only ever used when NODE_ENV is development or test. */
export const DEV_API_TOKEN = 'dev-token';
export const DEV_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');

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
});

export interface Config {
  devMode: boolean;
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  http: { host: string; port: number };
  /** Requests per window per client address on /v1; null turns the limit off. */
  rateLimit: { max: number; timeWindowMs: number } | null;
  apiTokens: string[];
  /** Current key first; older keys after it, still accepted for decryption (rotation). */
  secretsKeys: Buffer[];
  email: { from: string; resendApiKey: string | undefined; resendBaseUrl: string | undefined };
  allowInsecurePowerSchool: boolean;
  logLevel: string;
  /**
   * Worker only: the Worker Deployment Version this worker polls as (Worker Versioning), or null
   * for an unversioned worker. A versioned worker gets no task until its version is made current.
   */
  workerDeployment: { deploymentName: string; buildId: string } | null;
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

  const tokens = (e.API_TOKENS ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) {
    if (role === 'api' && !devMode) throw new ConfigError('API_TOKENS: required (comma-separated bearer tokens)');
    tokens.push(DEV_API_TOKEN);
  }
  if (tokens.some((t) => t.length < 8)) throw new ConfigError('API_TOKENS: each token must be at least 8 characters');

  let key = e.SECRETS_KEY;
  if (!key) {
    if (role !== 'tool' && !devMode) throw new ConfigError('SECRETS_KEY: required (base64 of 32 random bytes)');
    key = DEV_SECRETS_KEY;
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

  return {
    devMode,
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/+$/, ''),
    },
    http: { host: e.HOST, port: e.PORT },
    rateLimit:
      e.API_RATE_LIMIT_MAX === 0 ? null : { max: e.API_RATE_LIMIT_MAX, timeWindowMs: e.API_RATE_LIMIT_WINDOW_MS },
    apiTokens: tokens,
    secretsKeys: [key, ...previous].map((k) => Buffer.from(k, 'base64')),
    email: { from: e.EMAIL_FROM, resendApiKey: e.RESEND_API_KEY, resendBaseUrl: e.RESEND_BASE_URL },
    allowInsecurePowerSchool: e.ALLOW_INSECURE_POWERSCHOOL,
    logLevel: e.LOG_LEVEL,
    workerDeployment:
      e.WORKER_BUILD_ID && e.WORKER_DEPLOYMENT_NAME
        ? { deploymentName: e.WORKER_DEPLOYMENT_NAME, buildId: e.WORKER_BUILD_ID }
        : null,
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
