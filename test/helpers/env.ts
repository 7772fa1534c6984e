import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { inject } from 'vitest';

/** What global-setup started, for one test file. */
export const testEnv = {
  temporalAddress: inject('temporalAddress'),
  temporalUiUrl: inject('temporalUiUrl'),
  databaseUrl: inject('databaseUrl'),
  postgresServerUrl: inject('postgresServerUrl'),
  workflowBundlePath: inject('workflowBundlePath'),
  temporalCliPath: inject('temporalCliPath'),
};

let bundleCode: string | undefined;
export function workflowBundle(): { code: string } {
  bundleCode ??= readFileSync(testEnv.workflowBundlePath, 'utf8');
  return { code: bundleCode };
}

export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  return new Client({ connection, namespace: 'default' });
}

/** A unique task queue per test keeps tests that share the server from stealing each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/** A unique school id per test, so tests sharing one database never see each other's rows. */
export function uniqueSchoolId(prefix = 'school'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createTestWorker(
  options: Omit<WorkerOptions, 'connection' | 'workflowBundle' | 'workflowsPath'>,
): Promise<Worker> {
  const connection = await NativeConnection.connect({ address: testEnv.temporalAddress });
  return Worker.create({ connection, namespace: 'default', workflowBundle: workflowBundle(), ...options });
}
