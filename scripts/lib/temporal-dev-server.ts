import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/search-attributes.js';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  uiPort: number;
  /** SQLite file: the server's state survives a restart. Omit for an in-memory server. */
  dbFile?: string;
  namespace?: string;
  /** Where the server's own output goes; 'ignore' keeps test output clean. */
  stdio?: 'inherit' | 'ignore';
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns `temporal server start-dev` and waits until its frontend answers with our search
 * attributes registered. We spawn it ourselves (rather than the SDK's 5 s start-up limit) because
 * a cold machine can take longer to come up.
 */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  const namespace = opts.namespace ?? 'default';
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_FLAGS.flatMap((sa) => ['--search-attribute', sa]),
    // Eager activity dispatch: a worker that completes a workflow task gets the activity it just
    // scheduled in the same response, instead of waiting ~40 ms for a poll (measured in bench/).
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
  ];
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', opts.stdio ?? 'ignore', opts.stdio ?? 'ignore'] });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`Temporal dev server ${exited} before it was ready (port ${opts.port} in use?)`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        const res = await connection.operatorService.listSearchAttributes({ namespace });
        if (res.customAttributes && 'SchoolId' in res.customAttributes) break;
      } finally {
        await connection.close();
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `Temporal dev server did not become ready on ${address} within ${opts.startTimeoutMs ?? 60_000} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    address,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
