import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { NodeChild } from '../../test/helpers/process.js';

/**
 * What /proc says about the benchmark's child processes (simulator, worker, API, bare server),
 * started with spawnNode (test/helpers/process.ts: a plain `node --import tsx <entry>`, so its pid
 * is the measured process), and the poll that waits for them to be ready.
 */

/**
 * Waits for `test()` to return a value, polling; fails with `what` (and the child's output) at the
 * deadline, or at once when the child exits. The benchmark runs outside vitest, so vi.waitFor is
 * not available here.
 */
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

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat: everything but idle and iowait). */
export function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU seconds so far of each process whose command is `name` (e.g. every PostgreSQL backend), by pid. */
export function cpuByPidOfCommand(name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== name) continue;
      const cpu = procCpuSeconds(Number(entry));
      if (cpu !== undefined) out.set(Number(entry), cpu);
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/**
 * CPU used between two cpuByPidOfCommand() snapshots by the processes alive at the second one
 * (a process that ended in between is left out rather than counted negative: an undercount).
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/**
 * Who used the CPU during a scenario: each of our processes, all PostgreSQL processes (ours and
 * anyone else's on this server), and the rest of the machine. Take one before, one after, diff().
 */
export class CpuAccount {
  private readonly start: Record<string, number>;
  private readonly postgresStart: Map<number, number>;
  constructor(private readonly pids: Record<string, number>) {
    this.start = this.snapshot();
    this.postgresStart = cpuByPidOfCommand('postgres');
  }
  private snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) out[name] = procCpuSeconds(pid) ?? NaN;
    out['bench process'] = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
    out.machine = machineBusySeconds();
    return out;
  }
  /** CPU seconds used since construction, by process; `others` = machine − everything listed. */
  diff(): Record<string, number> {
    const end = this.snapshot();
    const out: Record<string, number> = {};
    end['postgres (whole server)'] = cpuDelta(this.postgresStart, cpuByPidOfCommand('postgres'));
    let ours = 0;
    for (const key of Object.keys(end)) {
      if (key === 'machine') continue;
      out[key] = Number(((end[key] ?? 0) - (this.start[key] ?? 0)).toFixed(2));
      if (Number.isFinite(out[key])) ours += out[key]!;
    }
    const machine = (end.machine ?? 0) - (this.start.machine ?? 0);
    out['everything else on the machine'] = Number((machine - ours).toFixed(2));
    out['machine total'] = Number(machine.toFixed(2));
    return out;
  }
}
