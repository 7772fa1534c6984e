import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.js';

/**
 * The one pino logger of every process (API, worker, demo stack). Redaction is belt and braces:
 * we never log bodies, headers or credentials ourselves, but if anything ever does, bearer tokens,
 * PowerSchool client secrets and access tokens come out censored.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  'clientSecret',
  '*.clientSecret',
  '*.*.clientSecret',
  'body.powerschool.clientSecret',
  'req.body.powerschool.clientSecret',
  'client_secret',
  '*.client_secret',
  'client_secret_encrypted',
  '*.client_secret_encrypted',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
];

export interface LoggerOptions {
  logLevel: Config['logLevel'];
  /** The `service` field of every line: which process wrote it. */
  service?: 'api' | 'worker';
}

export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const settings = {
    level: options.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: `powerschool-sync-${options.service ?? 'api'}` },
  };
  return destination ? pino(settings, destination) : pino(settings);
}
