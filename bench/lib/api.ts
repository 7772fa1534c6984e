import { freePort } from '../../scripts/lib/ports.js';
import { spawnNode, type NodeChild } from '../../test/helpers/process.js';
import { procCpuSeconds, waitUntil } from './proc.js';
import type { BenchEnv } from './env.js';

/**
 * The production API entry (`api/main.ts`, what `npm run api` runs) as a child process, so a load
 * generator in the bench process does not share its event loop. Request logging is at `warn`
 * (no per-request lines). The rate-limit plugin stays on, as in production, with a limit no load
 * here can reach (otherwise 50 connections from one address would measure 429s).
 */
export interface ApiProcess {
  url: string;
  pid: number;
  process: NodeChild;
  /** Calls the API with the bench's token; throws on a non-2xx answer. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startApiProcess(env: BenchEnv, nodeArgs: string[] = []): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawnNode('api/main.ts', {
    label: 'api',
    nodeArgs,
    env: {
      NODE_ENV: 'development',
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TEMPORAL_UI_URL: env.temporalUiUrl,
      TEMPORAL_TASK_QUEUE: env.taskQueue,
      API_TOKENS: env.apiToken,
      SECRETS_KEY: env.secretsKey,
      ALLOW_INSECURE_POWERSCHOOL: 'true',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      API_RATE_LIMIT_MAX: '1000000000',
      // A free port rather than the default 9465, so two benches on one machine do not collide.
      API_METRICS_PORT: String(await freePort()),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil('API', async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      child,
    });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    url,
    pid: child.pid,
    process: child,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${env.apiToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    cpuSeconds: () => procCpuSeconds(child.pid) ?? NaN,
    stop: async () => void (await child.stop()),
  };
}
