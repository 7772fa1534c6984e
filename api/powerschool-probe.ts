// The API's PowerSchool calls (test-connection's count, the district's schools) and the mapping of their failures to the contract's POWERSCHOOL_* codes.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { PowerSchoolClient, PowerSchoolError, type PowerSchoolSchool } from '../powerschool/client.js';
import { ApiError } from './errors.js';

export interface ProbeCredentials {
  serverUrl: string;
  clientId: string;
  clientSecret: string;
}

/** What the API asks PowerSchool while a person waits. */
export interface PowerSchoolProbe {
  /** test-connection: a real token request and a count of the students in scope (selected schools only). */
  countStudentsInScope(
    input: ProbeCredentials & { gradeFrom: number; gradeTo: number; schools?: readonly number[] },
  ): Promise<number>;
  /** The district's schools, from PowerSchool's SCHOOLS table. */
  listSchools(input: ProbeCredentials): Promise<PowerSchoolSchool[]>;
}

export function createPowerSchoolProbe(
  config: Pick<Config, 'allowInsecurePowerSchool'>,
  logger: Logger,
): PowerSchoolProbe {
  const clientFor = ({ serverUrl, clientId, clientSecret }: ProbeCredentials, component: string) =>
    new PowerSchoolClient({
      credentials: { serverUrl, clientId, clientSecret },
      allowInsecure: config.allowInsecurePowerSchool,
      // A person is waiting for the answer: fail in seconds, not after the sync's patient retries.
      timeoutMs: 10_000,
      maxAttempts: 2,
      retryBaseDelayMs: 250,
      maxRetryDelayMs: 2_000,
      logger: logger.child({ component }),
    });
  return {
    async countStudentsInScope({ gradeFrom, gradeTo, schools = [], ...credentials }) {
      // checkConnection never uses a cached token: changed credentials are checked now.
      const client = clientFor(credentials, 'test-connection');
      return (await client.checkConnection({ gradeFrom, gradeTo, schools })).studentsInScope;
    },
    async listSchools(credentials) {
      return clientFor(credentials, 'powerschool-schools').listSchools();
    },
  };
}

const MESSAGES = {
  POWERSCHOOL_AUTH_FAILED: 'PowerSchool refused the client id and secret',
  POWERSCHOOL_FORBIDDEN: 'The PowerSchool plugin lacks access to the fields it needs',
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
