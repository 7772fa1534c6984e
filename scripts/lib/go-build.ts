import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Go programs the dev stack builds for itself with `go install` (the Temporal CLI, the Temporal
 * server, its SQL tool and the UI server): one Go toolchain, one per-user cache that outlives a
 * clone (CI clones afresh on the same machine), and a copy in the clone's `.tools/bin`.
 */

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
export const CACHE_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'powerschool-sync');

export interface GoTool {
  /** The name the binary gets in .tools/bin (and, with its version, in the cache). */
  name: string;
  /** Package path of the main package, without version. */
  module: string;
  version: string;
  /** The name `go install` gives the binary (the last element of the package path). */
  builtName: string;
}

export function isExecutable(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function findGo(): string | undefined {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

export function cachedPath(tool: GoTool): string {
  return join(CACHE_DIR, `${tool.name}-${tool.version}`);
}

/**
 * A build of `tool` already on this machine: .tools/bin, else the per-user cache (copied into
 * .tools/bin). Only file checks, no build.
 */
export function findBuilt(tool: GoTool): string | undefined {
  const local = join(TOOLS_BIN, tool.name);
  const cached = cachedPath(tool);
  // The cache is versioned, .tools/bin is not: prefer the cache's copy when both exist and differ
  // in size, so a version bump in this file is never shadowed by an old local copy.
  if (isExecutable(cached)) {
    if (!isExecutable(local) || statSync(local).size !== statSync(cached).size) {
      mkdirSync(TOOLS_BIN, { recursive: true });
      copyFileSync(cached, local);
    }
    return local;
  }
  return isExecutable(local) ? local : undefined;
}

export class GoMissing extends Error {
  override name = 'GoMissing';
}

/**
 * `go install module@version`, streaming progress through `log`, into a GOBIN of its own (two
 * tools may both be built as `server`), then cached per user and copied into .tools/bin.
 * Returns the .tools/bin path.
 */
export async function goInstall(tool: GoTool, log: (line: string) => void, whenGoMissing: string): Promise<string> {
  const go = findGo();
  if (!go) throw new GoMissing(whenGoMissing);
  const target = `${tool.module}@${tool.version}`;
  const version = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  log(`[${tool.name}] building ${target} with ${version} (once per machine)…`);
  mkdirSync(CACHE_DIR, { recursive: true });
  const gobin = mkdtempSync(join(CACHE_DIR, `.build-${tool.name}-`));
  const started = Date.now();
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(go, ['install', '-v', target], {
        env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod', GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local' },
        stdio: ['ignore', 'inherit', 'pipe'],
      });
      let packages = 0;
      let tail = '';
      const ticker = setInterval(
        () => log(`[${tool.name}] … ${Math.round((Date.now() - started) / 1000)} s, ${packages} packages compiled`),
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
        else reject(new Error(`go install ${target} failed (exit ${code}):\n${tail}`));
      });
    });
    // Rename within the cache directory: atomic, so a concurrent reader never sees half a file.
    renameSync(join(gobin, tool.builtName), cachedPath(tool));
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  const local = findBuilt(tool)!;
  log(
    `[${tool.name}] built in ${Math.round((Date.now() - started) / 1000)} s → ${local} (cached at ${cachedPath(tool)})`,
  );
  return local;
}
