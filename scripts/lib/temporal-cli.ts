import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds (or builds) the Temporal CLI, whose `server start-dev` is our real local Temporal server.
 * Order: TEMPORAL_CLI_PATH → `temporal` on PATH → .tools/bin → per-user cache → build with Go.
 * (The SDK's own download needs internet, which our machines lack; it is the README's last resort.)
 */

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
const CACHE_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'powerschool-sync');
const CACHED_BINARY = join(CACHE_DIR, `temporal-${TEMPORAL_CLI_VERSION}`);

function isExecutable(path: string): boolean {
  try {
    return statSync(path).isFile() && (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function findGo(): string | undefined {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Resolves without building; undefined when no binary is at hand. Fast: only file checks. */
export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const local = join(TOOLS_BIN, 'temporal');
  for (const candidate of [onPath('temporal'), local, CACHED_BINARY]) {
    if (candidate && isExecutable(candidate)) {
      if (candidate === CACHED_BINARY) {
        mkdirSync(TOOLS_BIN, { recursive: true });
        copyFileSync(CACHED_BINARY, local);
        return local;
      }
      return candidate;
    }
  }
  return undefined;
}

export class TemporalCliMissing extends Error {
  override name = 'TemporalCliMissing';
}

/** Builds the CLI with `go install`, streaming Go's progress, then caches the binary per user. */
export async function buildTemporalCli(
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<string> {
  const go = findGo();
  if (!go) {
    throw new TemporalCliMissing(
      'No Temporal CLI found and Go is not installed. Install Go ≥ 1.25 (https://go.dev/dl) and run ' +
        '`npm run temporal:provision`, or install the Temporal CLI (https://docs.temporal.io/cli) and ' +
        'put `temporal` on PATH, or set TEMPORAL_CLI_PATH to its binary.',
    );
  }
  const version = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  log(`[temporal-cli] building ${MODULE} with ${version} — the first build takes several minutes (once per machine)…`);
  mkdirSync(TOOLS_BIN, { recursive: true });
  const started = Date.now();
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(go, ['install', '-v', MODULE], {
      env: { ...process.env, GOBIN: TOOLS_BIN, GOFLAGS: '-mod=mod', GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local' },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let packages = 0;
    let tail = '';
    const ticker = setInterval(
      () => log(`[temporal-cli] … ${Math.round((Date.now() - started) / 1000)} s, ${packages} packages compiled`),
      15_000,
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
      for (const line of chunk.split('\n')) if (line && !line.startsWith('go: downloading')) packages++;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolvePromise();
      else reject(new Error(`go install ${MODULE} failed (exit ${code}):\n${tail}`));
    });
  });
  const built = join(TOOLS_BIN, 'temporal');
  mkdirSync(CACHE_DIR, { recursive: true });
  copyFileSync(built, CACHED_BINARY);
  log(`[temporal-cli] built in ${Math.round((Date.now() - started) / 1000)} s → ${built} (cached at ${CACHED_BINARY})`);
  return built;
}

export async function provisionTemporalCli(log?: (line: string) => void): Promise<string> {
  return findTemporalCli() ?? (await buildTemporalCli(log));
}
