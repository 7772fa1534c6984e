import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/**
 * The one way tests, the benchmark and dev scripts start a TypeScript entry point as a child
 * process: `node --import tsx <entry>`, so the child's pid is the process itself (SIGKILL hits it,
 * /proc figures measure it). execa kills the child if this process dies first and gives a promise
 * of its exit. No vitest import here: the benchmark uses it outside a test run.
 */

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildExit {
  code: number | null;
  signal: string | null;
}

export interface NodeChild {
  /** The execa subprocess (a ChildProcess). */
  child: ResultPromise;
  pid: number;
  /** Everything the child wrote so far (stdout and stderr interleaved; the last 100-200 kB). */
  output(): string;
  /** Resolves when the child has exited, never rejects. */
  exited: Promise<ChildExit>;
  running(): boolean;
  /** Resolves once the output matches; rejects if the child exits first or after `timeoutMs`. */
  waitForOutput(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs?: number): Promise<ChildExit>;
  /** SIGKILL, at once; resolves with the exit. */
  kill(): Promise<ChildExit>;
}

export interface SpawnNodeOptions {
  /** The child's whole environment besides PATH and HOME: no stray settings of the caller leak in. */
  env: Record<string, string | undefined>;
  /** For error messages. */
  label?: string;
  nodeArgs?: string[];
  args?: string[];
  /** Called with every chunk the child writes (stdout or stderr). */
  onOutput?: (text: string) => void;
}

const KEEP_OUTPUT = 200_000;

/** `node --import tsx <entry>` in the project, with only the given environment (plus PATH and HOME). */
function tsxCommand(entry: string, options: SpawnNodeOptions) {
  return {
    args: [...(options.nodeArgs ?? []), '--import', 'tsx', entry, ...(options.args ?? [])],
    options: {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
    } as const,
  };
}

export function spawnNode(entry: string, options: SpawnNodeOptions): NodeChild {
  const label = options.label ?? entry;
  const command = tsxCommand(entry, options);
  const child = execa(process.execPath, command.args, {
    ...command.options,
    all: true,
    buffer: false,
    // stop() decides when to escalate to SIGKILL.
    forceKillAfterDelay: false,
  });
  if (child.pid === undefined) throw new Error(`${label}: could not spawn ${entry}`);
  let output = '';
  const listeners = new Set<() => void>();
  child.all!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > KEEP_OUTPUT) output = output.slice(-KEEP_OUTPUT / 2);
    options.onOutput?.(text);
    for (const listener of listeners) listener();
  });
  let done = false;
  const exited = child.then(
    (r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null }),
    () => ({ code: child.exitCode, signal: child.signalCode }),
  );
  void exited.then(() => {
    done = true;
    for (const listener of listeners) listener();
  });

  const signalAndWait = async (signal: NodeJS.Signals, graceMs?: number) => {
    if (done) return exited;
    child.kill(signal);
    const timer = graceMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };

  return {
    child,
    pid: child.pid,
    output: () => output,
    exited,
    running: () => !done,
    waitForOutput(pattern, timeoutMs = 60_000) {
      const matches = () => (typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output));
      return new Promise<string>((resolve, reject) => {
        const finish = (err?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve(output);
        };
        const check = () => {
          if (matches()) finish();
          else if (done)
            void exited.then((e) => finish(new Error(`${label} exited (${e.code ?? e.signal}):\n${output}`)));
        };
        const timer = setTimeout(
          () => finish(new Error(`${label}: no ${String(pattern)} after ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        listeners.add(check);
        check();
      });
    },
    stop: (graceMs = 10_000) => signalAndWait('SIGTERM', graceMs),
    kill: () => signalAndWait('SIGKILL'),
  };
}

/** Runs an entry point to its end: exit code and output, for tests of how a process starts or fails. */
export async function runNode(
  entry: string,
  options: SpawnNodeOptions & { timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = tsxCommand(entry, options);
  const r = await execa(process.execPath, command.args, { ...command.options, timeout: options.timeoutMs ?? 30_000 });
  return { code: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr };
}
