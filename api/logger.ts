import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.js';

/**
 * The API's pino logger. Redaction is belt and braces: we never log bodies or headers ourselves,
 * but if anything ever does, the bearer token and the PowerSchool client secret come out censored.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'clientSecret',
  '*.clientSecret',
  '*.*.clientSecret',
  'body.powerschool.clientSecret',
  'req.body.powerschool.clientSecret',
  'client_secret_encrypted',
  '*.client_secret_encrypted',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'powerschool-sync-api' },
  };
  return destination ? pino(options, destination) : pino(options);
}
