// The one logging interface the modules depend on: pino's Logger fits it, and so does a test double.

export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A Log that drops everything. */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
