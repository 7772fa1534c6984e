import { afterEach } from 'vitest';
import { silentLog, type Log } from '../../logging/log.js';
import { PowerSchoolClient, type PowerSchoolClientOptions, type StudentScope } from '../../powerschool/client.js';
import { clearTokenCache } from '../../powerschool/token-cache.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';

/** Simulators started in a test are closed after it. */
const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  // A later simulator may get the same port: never let it see an earlier one's cached token.
  clearTokenCache();
});

export async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ students: 300, seed: 7, ...options });
  running.push(sim);
  return sim;
}

/** A client on loopback with fast retries, so fault tests take milliseconds. */
export function clientFor(sim: Simulator, options: Partial<PowerSchoolClientOptions> = {}): PowerSchoolClient {
  return new PowerSchoolClient({
    credentials: { serverUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
    allowInsecure: true,
    timeoutMs: 5_000,
    retryBaseDelayMs: 5,
    maxRetryDelayMs: 2_000,
    ...options,
  });
}

interface LoggedWarning {
  obj: Record<string, unknown>;
  msg: string;
}

export function recordingLogger() {
  const warnings: LoggedWarning[] = [];
  const lines: string[] = [];
  const logger: Log = {
    ...silentLog,
    warn(obj: object, msg?: string) {
      warnings.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
      lines.push(JSON.stringify(obj) + (msg ?? ''));
    },
    debug(obj: object, msg?: string) {
      lines.push(JSON.stringify(obj) + (msg ?? ''));
    },
  };
  return { warnings, lines, logger };
}

export const dcidOf = (row: unknown) => String((row as { dcid: unknown }).dcid);

/** Reads every in-scope student as the worker does: keyset pages of the server's maximum size. */
export async function readAll(client: PowerSchoolClient, scope: StudentScope): Promise<unknown[]> {
  const pageSize = await client.getMaxPageSize();
  const rows: unknown[] = [];
  for (let after: string | null = null; ;) {
    const page = await client.fetchStudentsAfter(scope, after, pageSize);
    rows.push(...page);
    if (page.length < pageSize) return rows;
    after = dcidOf(page.at(-1));
  }
}
