import { findBuilt, GoMissing, goInstall, isExecutable, onPath, PROJECT_ROOT, type GoTool } from './go-build.js';

/**
 * Finds (or builds) the Temporal CLI, whose `server start-dev` is our real local Temporal server.
 * Order: TEMPORAL_CLI_PATH → `temporal` on PATH → .tools/bin → per-user cache → build with Go.
 * (The SDK's own download needs internet, which our machines lack; it is the README's last resort.)
 */

export { PROJECT_ROOT };
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI: GoTool = {
  name: 'temporal',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: TEMPORAL_CLI_VERSION,
  builtName: 'temporal',
};

/** Resolves without building; undefined when no binary is at hand. Fast: only file checks. */
export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return onPath('temporal') ?? findBuilt(CLI);
}

export class TemporalCliMissing extends Error {
  override name = 'TemporalCliMissing';
}

/** Builds the CLI with `go install`, streaming Go's progress, then caches the binary per user. */
export async function buildTemporalCli(
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<string> {
  try {
    return await goInstall(
      CLI,
      log,
      'No Temporal CLI found and Go is not installed. Install Go ≥ 1.25 (https://go.dev/dl) and run ' +
        '`npm run temporal:provision`, or install the Temporal CLI (https://docs.temporal.io/cli) and ' +
        'put `temporal` on PATH, or set TEMPORAL_CLI_PATH to its binary.',
    );
  } catch (err) {
    if (err instanceof GoMissing) throw new TemporalCliMissing(err.message);
    throw err;
  }
}

export async function provisionTemporalCli(log?: (line: string) => void): Promise<string> {
  return findTemporalCli() ?? (await buildTemporalCli(log));
}
