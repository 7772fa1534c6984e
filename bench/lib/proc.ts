import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Child processes of the benchmark (simulator, worker, API, bare server) and what /proc says about
 * them. Every child is a plain `node --import tsx <entry>`, so its pid is the measured process.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface NodeChild {
  child: ChildProcess;
  pid: number;
  /** Everything the child wrote so far (stdout and stderr), for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnNode(
  entry: string,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; label: string },
): NodeChild {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    // Only what the child needs, plus PATH/HOME for tsx: no stray settings of the caller leak in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.label}: could not spawn ${entry}`);
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });
  return {
    child,
    pid: child.pid,
    output: () => output,
    async stop(graceMs = 10_000) {
      if (exited || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Waits for `test()` to return a value, polling; fails with `what` (and the child's output) at the deadline. */
export async function waitUntil<T>(
  what: string,
  test: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; intervalMs?: number; child?: NodeChild },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const c = opts.child?.child;
    if (c && (c.exitCode !== null || c.signalCode !== null))
      throw new Error(
        `${what}: the process exited (${c.exitCode ?? c.signalCode}):\n${opts.child!.output().slice(-4000)}`,
      );
    try {
      const value = await test();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const out = opts.child ? `\n${opts.child.output().slice(-4000)}` : '';
      throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${detail}${out}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/** A field of /proc/<pid>/status in MB (VmHWM: peak RSS, VmRSS: current RSS); undefined once gone. */
export function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * Resets the kernel's peak RSS (VmHWM) of a process to its current RSS (`echo 5 > clear_refs`,
 * Linux ≥ 4.0), so a later VmHWM is the peak of what came after. False when not permitted.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; undefined once gone. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS on a timer: the peak between start() and stop(), beside the kernel's VmHWM. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  peakMb = 0;
  samples = 0;
  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {}
  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }
  private sample() {
    const rss = procStatusMb(this.pid, 'VmRSS');
    if (rss !== undefined) {
      this.peakMb = Math.max(this.peakMb, rss);
      this.samples++;
    }
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peakMb;
  }
}
