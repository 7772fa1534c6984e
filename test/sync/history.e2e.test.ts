import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connection.js';
import type { SimulatedStudent } from '../../simulator/index.js';
import { testDb } from '../helpers/db.js';
import { testClient, uniqueSchoolId } from '../helpers/env.js';
import { putIntegration, runRow, startSync, startSyncWorker, startTestSimulator, syncTestConfig } from './harness.js';

/** No student data (and no secret) in a run's Temporal history. */
describe('sync pipeline: what Temporal history holds', () => {
  const config = syncTestConfig();
  let db: Db;
  let client: Client;
  let worker: Awaited<ReturnType<typeof startSyncWorker>>;

  beforeAll(async () => {
    db = testDb();
    client = await testClient();
    worker = await startSyncWorker(client, config, db);
  });
  afterAll(async () => {
    await worker?.stop();
    await db?.destroy();
    await client?.connection.close();
  });

  /**
   * The whole history as text, payloads decoded. Walks the raw messages: JSON.stringify would go
   * through protobufjs' toJSON, which turns every payload into base64 that no search can read.
   */
  async function historyText(workflowId: string): Promise<string> {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const parts: string[] = [];
    const seen = new Set<unknown>();
    const walk = (value: unknown): void => {
      if (value === null || value === undefined) return;
      if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'));
      else if (typeof value === 'string') parts.push(value);
      else if (typeof value === 'object' && !seen.has(value)) {
        seen.add(value);
        for (const v of Array.isArray(value) ? value : Object.values(value)) walk(v);
      }
    };
    walk(history);
    return parts.join('\n');
  }

  function expectNoStudentData(text: string, students: SimulatedStudent[], secret: string): void {
    const leaks: string[] = [];
    for (const s of students) {
      const first = s.first_name.trim();
      const last = s.last_name.trim();
      if (first && last && text.includes(`${first} ${last}`)) leaks.push(`${first} ${last}`);
      if (first && last && text.includes(`${last}, ${first}`)) leaks.push(`${last}, ${first}`);
      if (s.dob && text.includes(s.dob)) leaks.push(s.dob);
    }
    expect(leaks).toEqual([]);
    for (const word of ['Zephyrine', 'Quillfeather', '2009-04-17', secret]) expect(text).not.toContain(word);
    expect(text).not.toMatch(/first_?name|last_?name|date_?of_?birth|"dob"/i);
  }

  it('8. the full history of a run (with retries, bad records and an email) holds no student name or date of birth', async () => {
    const sim = await startTestSimulator({ students: 400, seed: 81, malformedShare: 0.1 });
    try {
      sim.students.add({
        first_name: 'Zephyrine',
        last_name: 'Quillfeather',
        dob: '2009-04-17',
        grade_level: 10,
        enroll_status: 0,
      });
      sim.setFaults({ errorRate: 0.2, rateLimitRate: 0.05, retryAfterSeconds: 1 });
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config, schoolId, sim, {
        mapping: { powerschoolId: 'STUDENT_NUMBER', dateOfBirth: true, gender: true },
        notifications: { enabled: true, recipients: ['a@school.test'] },
      });
      const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'manual' });
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'succeeded', notification: 'sent' });
      expect((await runRow(db, handle.workflowId)).count_invalid).toBeGreaterThan(0);
      // The marker student really went through the pipeline.
      const marker = await db
        .selectFrom('students')
        .select('first_name')
        .where('school_id', '=', schoolId)
        .where('first_name', '=', 'Zephyrine')
        .executeTakeFirst();
      expect(marker).toBeDefined();

      const text = await historyText(handle.workflowId);
      expect(text).toContain(schoolId); // decoding worked: inputs are there…
      expect(text).toContain('fetchPage');
      expect(text).toContain('"recordsFetched"'); // a decoded activity result
      expectNoStudentData(text, sim.students.list(), sim.clientSecret); // …student data is not
      // And the check itself can see a leak when there is one.
      const someone = sim.students.inScope(9, 12)[0]!;
      expect(() => expectNoStudentData(`${text} ${someone.first_name} ${someone.last_name}`, [someone], 'x')).toThrow();
    } finally {
      await sim.close();
    }
  });

  it('8b. nor does the history of a run that failed on a missing field grant', async () => {
    const sim = await startTestSimulator({ students: 100, seed: 82 });
    try {
      sim.setGrantedColumns([
        'dcid',
        'id',
        'student_number',
        'first_name',
        'last_name',
        'gender',
        'grade_level',
        'sched_yearofgraduation',
        'enroll_status',
        'schoolid',
      ]);
      const schoolId = uniqueSchoolId();
      await putIntegration(db, config, schoolId, sim);
      const handle = await startSync(client, worker.taskQueue, { schoolId, trigger: 'schedule' });
      await expect(handle.result()).rejects.toThrow();
      const run = await runRow(db, handle.workflowId);
      expect(run).toMatchObject({ status: 'failed', error_code: 'POWERSCHOOL_FORBIDDEN' });
      expect(run.error_message).toContain('dob');
      expectNoStudentData(await historyText(handle.workflowId), sim.students.list(), sim.clientSecret);
    } finally {
      await sim.close();
    }
  });
});
