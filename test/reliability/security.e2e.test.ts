import { randomBytes } from 'node:crypto';
import * as crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { createTokenVerifier } from '../../api/plugins/app/auth.js';
import { resealSecrets } from '../../api/secrets-rotation.js';
import { PowerSchoolClient, PowerSchoolError } from '../../powerschool/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { SecretBox } from '../../secrets/secret-box.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runRow, runSync, startSync, startSyncWorker, syncTestConfig } from '../sync/harness.js';
import { freshDatabase } from '../helpers/db.js';
import { findPersonalData, LogSink, report, sinkLogger } from './support.js';

// The real crypto, with timingSafeEqual observed: the token check must go through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof crypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

/**
 * The security gaps left by test/api and test/powerschool: the token comparison really
 * is constant-time; secrets sealed with a rotated-out key still work for a running worker and
 * are re-sealed; and a worker refuses, at connect time, a stored PowerSchool URL that points
 * inside (a URL that was public when saved may resolve to loopback later).
 */
describe('reliability: security', () => {
  describe('API tokens', () => {
    it('every configured token is compared with timingSafeEqual on equal-length SHA-256 digests', () => {
      const spy = vi.mocked(crypto.timingSafeEqual);
      const verify = createTokenVerifier(['token-one-aaaaaaaa', 'token-two-bbbbbbbb', 'short']);
      for (const candidate of ['x', 'token-one-aaaaaaaa', 'token-two-bbbbbbbb', 'a'.repeat(1024)]) {
        spy.mockClear();
        verify(`Bearer ${candidate}`);
        // No early exit: every configured token is compared, whatever the candidate.
        expect(spy).toHaveBeenCalledTimes(3);
        for (const [a, b] of spy.mock.calls) {
          expect((a as Buffer).length).toBe(32);
          expect((b as Buffer).length).toBe(32);
        }
      }
      report('token comparison', { tokensCompared: 3, candidates: 4, digestBytes: 32, constantTime: true });
    });
  });

  describe('workers and stored settings', () => {
    const logs = new LogSink();
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    let client: Client;
    let sim: Simulator;
    beforeAll(async () => {
      // A database of its own: re-sealing touches every integration in the database.
      database = await freshDatabase('sec');
      client = await testClient();
      sim = await startSimulator({ students: 60, seed: 17, maxPageSize: 50 });
    });
    afterAll(async () => {
      await sim?.close();
      await client?.connection.close();
      await database?.drop();
    });

    it('SECRETS_KEY rotation: old-key secrets still work with SECRETS_KEY_PREVIOUS; after resealSecrets every row carries the new key', async () => {
      const oldKey = randomBytes(32);
      const newKey = randomBytes(32);
      const oldConfig = syncTestConfig({ DATABASE_URL: database.url, SECRETS_KEY: oldKey.toString('base64') });
      const schools = [uniqueSchoolId('rot'), uniqueSchoolId('rot'), uniqueSchoolId('rot')];
      for (const schoolId of schools) await putIntegration(database.db, oldConfig, schoolId, sim);
      const oldKeyId = new SecretBox([oldKey]).currentKeyId;
      const newKeyId = new SecretBox([newKey]).currentKeyId;

      // Rotated: the new key is current, the old one listed as previous.
      const rotated = syncTestConfig({
        DATABASE_URL: database.url,
        SECRETS_KEY: newKey.toString('base64'),
        SECRETS_KEY_PREVIOUS: oldKey.toString('base64'),
      });
      let worker = await startSyncWorker(client, rotated, database.db, { logger: sinkLogger(logs) });
      try {
        const before = await runSync(client, worker.taskQueue, { schoolId: schools[0]!, trigger: 'manual' });
        expect(before.status).toBe('succeeded');
      } finally {
        await worker.stop();
      }

      const result = await resealSecrets(database.db, new SecretBox(rotated.secretsKeys), sinkLogger(logs));
      expect(result).toEqual({ resealed: schools.length, unreadable: 0 });
      const rows = await database.db
        .selectFrom('integrations')
        .select(['school_id', 'client_secret_key_id', 'client_secret_encrypted'])
        .execute();
      expect(rows.map((r) => r.client_secret_key_id)).toEqual(rows.map(() => newKeyId));
      for (const r of rows) expect(r.client_secret_encrypted).not.toContain(sim.clientSecret);
      expect(await resealSecrets(database.db, new SecretBox(rotated.secretsKeys), sinkLogger(logs))).toEqual({
        resealed: 0,
        unreadable: 0,
      });

      // The old key can now be dropped.
      const newOnly = syncTestConfig({ DATABASE_URL: database.url, SECRETS_KEY: newKey.toString('base64') });
      worker = await startSyncWorker(client, newOnly, database.db, { logger: sinkLogger(logs) });
      try {
        const after = await runSync(client, worker.taskQueue, { schoolId: schools[1]!, trigger: 'manual' });
        expect(after.status).toBe('succeeded');
      } finally {
        await worker.stop();
      }
      expect(findPersonalData('logs', logs.text(), [], [sim.clientSecret])).toEqual([]);
      report('secret rotation', {
        integrations: schools.length,
        resealed: result.resealed,
        unreadable: result.unreadable,
        oldKeyId,
        newKeyId,
        runsBefore: 1,
        runsAfter: 1,
        secretInLogs: false,
      });
    }, 120_000);

    it('a stored PowerSchool URL that resolves to loopback is refused at connect time by the worker', async () => {
      const port = new URL(sim.url).port;
      const config = syncTestConfig({ DATABASE_URL: database.url, ALLOW_INSECURE_POWERSCHOOL: 'false' });
      const worker = await startSyncWorker(client, config, database.db, { logger: sinkLogger(logs) });
      const refusals: string[] = [];
      try {
        // As if these had passed validation when saved (a public name re-pointed later).
        for (const serverUrl of [
          `https://localhost:${port}`,
          `https://127.0.0.1:${port}`,
          `http://localhost:${port}`,
        ]) {
          const schoolId = uniqueSchoolId('ssrf');
          await putIntegration(database.db, config, schoolId, { ...sim, url: serverUrl });
          const before = sim.stats().requests;
          const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
          const failure = await handle.result().then(
            () => null,
            (err: unknown) => err,
          );
          expect(failure).toBeInstanceOf(WorkflowFailedError);
          expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('POWERSCHOOL_INSECURE_URL');
          expect(await runRow(database.db, handle.workflowId)).toMatchObject({
            status: 'failed',
            error_code: 'POWERSCHOOL_INSECURE_URL',
          });
          expect(sim.stats().requests).toBe(before); // nothing reached the server
          refusals.push(serverUrl);
        }
      } finally {
        await worker.stop();
      }
      report('SSRF through a worker run', { urlsRefused: refusals.length, requestsThatReachedTheServer: 0 });
    }, 120_000);
  });

  describe('the PowerSchool client refuses internal addresses before any connection', () => {
    const targets = [
      'https://127.0.0.1',
      'https://10.1.2.3',
      'https://172.16.0.1',
      'https://172.31.255.254',
      'https://192.168.1.1',
      'https://169.254.169.254',
      'https://[fe80::1]',
      'https://[::ffff:127.0.0.1]',
      'https://[::ffff:a9fe:a9fe]',
      'https://[::1]',
      'https://[fd00::1]',
      'https://0.0.0.0',
      'https://localhost',
    ];
    it.each(targets)('%s', async (serverUrl) => {
      const ps = new PowerSchoolClient({
        credentials: { serverUrl: `${serverUrl}:1`, clientId: 'a', clientSecret: 'b' },
        maxAttempts: 3,
        timeoutMs: 2_000,
      });
      const err = await ps.countStudents({ gradeFrom: 9, gradeTo: 12 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PowerSchoolError);
      expect(err).toMatchObject({ code: 'POWERSCHOOL_INSECURE_URL', retryable: false });
    });
  });
});
