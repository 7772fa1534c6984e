import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A long-running child of the cluster (Temporal server, UI, API, a worker): its output goes to a
 * log file, the last lines stay in memory for error messages, and it can be waited for, stopped
 * gracefully or SIGKILLed.
 */

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  /** The child's whole environment (nothing of this process's is passed on implicitly). */
  env: NodeJS.ProcessEnv;
  logFile: string;
}

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  private tail: string[] = [];
  private readonly log: WriteStream;
  private readonly exited: Promise<void>;
  exitDescription: string | undefined;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    mkdirSync(dirname(options.logFile), { recursive: true });
    this.log = createWriteStream(options.logFile, { flags: 'a' });
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const onData = (chunk: Buffer) => {
      this.log.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.tail.push(line);
        for (const listener of this.listeners) listener(line);
      }
      if (this.tail.length > 200) this.tail = this.tail.slice(-100);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.exitDescription = `could not start: ${err.message}`;
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exitDescription = `exited with ${signal ?? `code ${code}`}`;
        this.log.end();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitDescription === undefined;
  }

  lastLines(n = 30): string {
    return this.tail.slice(-n).join('\n');
  }

  /** Resolves when a line of output matches; fails if the process exits first or time runs out. */
  waitForLine(match: (line: string) => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    if (this.tail.some(match)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (err) reject(err);
        else resolve();
      };
      const listener = (line: string) => {
        if (match(line)) done();
      };
      const timer = setTimeout(
        () => done(this.failure(`did not report ${what} within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      this.listeners.add(listener);
      void this.exited.then(() => done(this.failure(`${this.exitDescription} before ${what}`)));
    });
  }

  /** Polls `probe` until it is true; fails early if the process dies. */
  async waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw this.failure(`${this.exitDescription} before ${what}`);
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline) throw this.failure(`did not become ${what} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  failure(message: string): Error {
    return new Error(`${this.name} ${message}; its last output (all of it in ${this.logFile}):\n${this.lastLines()}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return this.exited;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: no chance to clean up, as when a machine dies. */
  async kill(): Promise<void> {
    if (!this.running) return this.exited;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  whenExited(): Promise<void> {
    return this.exited;
  }
}
