// test-connection's PowerSchool call and the mapping of its failures to the contract's POWERSCHOOL_* codes.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { PowerSchoolClient, PowerSchoolError } from '../powerschool/client.js';
import { ApiError } from './errors.js';

/** test-connection's one job: a real token request and a count of the students in scope. */
export interface PowerSchoolProbe {
  countStudentsInScope(input: {
    serverUrl: string;
    clientId: string;
    clientSecret: string;
    gradeFrom: number;
    gradeTo: number;
  }): Promise<number>;
}

export function createPowerSchoolProbe(
  config: Pick<Config, 'allowInsecurePowerSchool'>,
  logger: Logger,
): PowerSchoolProbe {
  return {
    async countStudentsInScope({ serverUrl, clientId, clientSecret, gradeFrom, gradeTo }) {
      const client = new PowerSchoolClient({
        credentials: { serverUrl, clientId, clientSecret },
        allowInsecure: config.allowInsecurePowerSchool,
        // A person is waiting for the answer: fail in seconds, not after the sync's patient retries.
        timeoutMs: 10_000,
        maxAttempts: 2,
        retryBaseDelayMs: 250,
        maxRetryDelayMs: 2_000,
        logger: logger.child({ component: 'test-connection' }),
      });
      // checkConnection never uses a cached token: changed credentials are checked now.
      return (await client.checkConnection({ gradeFrom, gradeTo })).studentsInScope;
    },
  };
}

const MESSAGES = {
  POWERSCHOOL_AUTH_FAILED: 'PowerSchool refused the client id and secret',
  POWERSCHOOL_FORBIDDEN: 'The PowerSchool plugin lacks access to the student fields it needs',
  POWERSCHOOL_UNREACHABLE: 'PowerSchool could not be reached or did not answer as expected',
} as const;

/** Any failure of the probe → a 422 with one of the contract's three POWERSCHOOL_* codes. */
export function probeFailure(err: unknown): ApiError {
  const code =
    err instanceof PowerSchoolError && (err.code === 'POWERSCHOOL_AUTH_FAILED' || err.code === 'POWERSCHOOL_FORBIDDEN')
      ? err.code
      : 'POWERSCHOOL_UNREACHABLE';
  const fields = err instanceof PowerSchoolError && err.code === 'POWERSCHOOL_FORBIDDEN' ? (err.fields ?? []) : [];
  return new ApiError(
    422,
    code,
    MESSAGES[code],
    fields.length > 0 ? fields.map((f) => ({ path: f, message: 'grant ViewOnly access in plugin.xml' })) : undefined,
  );
}
