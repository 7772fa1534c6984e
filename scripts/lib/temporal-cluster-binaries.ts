import { findBuilt, goInstall, type GoTool } from './go-build.js';

/**
 * The Go programs of a production-shaped Temporal cluster, built from source like the CLI (their
 * go.mod files have no replace directives, so `go install` works): the server, its SQL tool (which
 * embeds the PostgreSQL schemas) and the web UI server. The server and the UI server both build a
 * binary named `server`, hence a GOBIN of their own and a name of our own.
 */

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** The UI the Temporal CLI v1.5.1 embeds. */
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';

export const TEMPORAL_SERVER: GoTool = {
  name: 'temporal-server',
  module: 'go.temporal.io/server/cmd/server',
  version: TEMPORAL_SERVER_VERSION,
  builtName: 'server',
};
export const TEMPORAL_SQL_TOOL: GoTool = {
  name: 'temporal-sql-tool',
  module: 'go.temporal.io/server/cmd/tools/sql',
  version: TEMPORAL_SERVER_VERSION,
  builtName: 'sql',
};
export const TEMPORAL_UI_SERVER: GoTool = {
  name: 'temporal-ui-server',
  module: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: TEMPORAL_UI_SERVER_VERSION,
  builtName: 'server',
};

const NO_GO =
  'Go is not installed: the cluster builds the Temporal server from source. Install Go ≥ 1.25 ' +
  '(https://go.dev/dl), or run the single-process stack instead (`npm run demo`).';

/** The binary, from .tools/bin or the per-user cache, else built with Go (minutes, once per machine). */
export async function provisionGoTool(tool: GoTool, log: (line: string) => void): Promise<string> {
  return findBuilt(tool) ?? (await goInstall(tool, log, NO_GO));
}
