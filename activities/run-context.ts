// What every activity after beginRun starts from: the run, its settings snapshot and its PowerSchool credentials.
import type { Db } from '../db/connection.js';
import { getIntegration } from '../db/queries/integrations.js';
import { getRun } from '../db/queries/runs.js';
import { parseRunSettings, type RunSettings } from '../db/queries/run-settings.js';
import type { Run } from '../db/types.js';
import type { PowerSchoolCredentials, StudentScope } from '../powerschool/client.js';
import { SecretBoxError, type SecretBox } from '../secrets/secret-box.js';
import { integrationNotFound, invalidSettings } from './failures.js';

/** A begun run and the settings it snapshotted: what every later activity starts from. */
export interface RunContext {
  run: Run;
  settings: RunSettings;
}

export async function loadRunContext(db: Db, runId: string): Promise<RunContext> {
  const run = await getRun(db, runId);
  if (!run) throw invalidSettings(`run ${runId} was never begun`);
  const settings = parseRunSettings(run.settings);
  if (!settings) throw invalidSettings(`run ${runId} has no settings snapshot`);
  return { run, settings };
}

export function scopeOf(settings: RunSettings): Required<StudentScope> {
  return { gradeFrom: settings.grades.from, gradeTo: settings.grades.to, schools: settings.schools };
}

/** What the run's settings make of its diff and its writes: the fields it syncs, whether it matches. */
export function writeOptionsOf({ run, settings }: RunContext) {
  return {
    runId: run.id,
    schoolId: run.school_id,
    syncDateOfBirth: settings.mapping.dateOfBirth,
    syncGender: settings.mapping.gender,
    syncGradeLevel: settings.mapping.gradeLevel,
    matching: settings.matching.enabled,
    powerschoolIdMapping: settings.mapping.powerschoolId,
  };
}

/**
 * The credentials for this run: URL and client id from the snapshot, the secret opened from the
 * integration row (it is never copied anywhere). Exists only in memory, for the call.
 */
export async function credentialsFor(db: Db, secretBox: SecretBox, ctx: RunContext): Promise<PowerSchoolCredentials> {
  const integration = await getIntegration(db, ctx.run.school_id);
  if (!integration) throw integrationNotFound(ctx.run.school_id);
  return {
    serverUrl: ctx.settings.serverUrl,
    clientId: ctx.settings.clientId,
    clientSecret: openSecret(secretBox, integration.school_id, {
      ciphertext: integration.client_secret_encrypted,
      keyId: integration.client_secret_key_id,
    }),
  };
}

export function openSecret(secretBox: SecretBox, schoolId: string, sealed: { ciphertext: string; keyId: string }) {
  try {
    return secretBox.open(sealed, schoolId);
  } catch (err) {
    if (err instanceof SecretBoxError)
      throw invalidSettings(`the stored PowerSchool client secret cannot be opened (${err.message}); save it again`);
    throw err;
  }
}
