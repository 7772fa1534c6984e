import { DefaultLogger, Runtime, type LogEntry, type TelemetryOptions } from '@temporalio/worker';
import type { Logger } from 'pino';

type TemporalLevel = LogEntry['level'];

const TO_TEMPORAL: Record<string, TemporalLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

const TO_PINO: Record<TemporalLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's own log lines (worker state, activity and workflow failures) through
 * our pino logger, so the worker writes one JSON log stream at one LOG_LEVEL. Call once, before
 * any connection or worker is created, with the metrics exporter if any (worker/metrics.ts): the
 * runtime is installed once per process.
 */
export function installRuntimeLogger(logger: Logger, telemetryOptions?: TelemetryOptions): void {
  Runtime.install({
    ...(telemetryOptions ? { telemetryOptions } : {}),
    logger: new DefaultLogger(TO_TEMPORAL[logger.level] ?? 'INFO', (entry) => {
      logger[TO_PINO[entry.level]]({ temporal: true, ...entry.meta }, entry.message);
    }),
  });
}
