// The integrations table: one school's settings and sealed secret; read, write, pause, delete, re-seal.
import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { BlackoutRange, Integration } from '../types.js';
import { DEFAULT_SAFETY, safetyColumns, type SafetySettings } from './safety-settings.js';

export async function getIntegration(db: Db, schoolId: string): Promise<Integration | undefined> {
  return db.selectFrom('integrations').selectAll().where('school_id', '=', schoolId).executeTakeFirst();
}

/**
 * Only the school's PowerSchool-ID mapping, for the list routes: one narrow column, so the hot read
 * paths do not fetch (or hold in memory) the sealed secret and the rest of the row.
 */
export async function getIntegrationIdMapping(
  db: Db,
  schoolId: string,
): Promise<Integration['mapping_powerschool_id'] | undefined> {
  const row = await db
    .selectFrom('integrations')
    .select('mapping_powerschool_id')
    .where('school_id', '=', schoolId)
    .executeTakeFirst();
  return row?.mapping_powerschool_id;
}

/** Every integration, for schedule reconciliation (one row per school; small). */
export async function listIntegrations(db: Db): Promise<Integration[]> {
  return db.selectFrom('integrations').selectAll().orderBy('school_id').execute();
}

/**
 * The school's settings version (moved by every settings write below), or undefined without an
 * integration. Read back after a Temporal call to learn whether the settings applied are still current.
 */
export async function getSettingsVersion(db: Db, schoolId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('integrations')
    .select('settings_version')
    .where('school_id', '=', schoolId)
    .executeTakeFirst();
  return row?.settings_version;
}

/** The next settings version: one sequence for every school (see the migration that added it). */
const nextSettingsVersion = () => sql<string>`nextval('integrations_settings_version_seq')`;

/**
 * The schedule of a school whose settings name none: weekly, Sunday 02:00 UTC. The initial
 * migration's column defaults say the same; a migration never changes, so it spells them out.
 */
export const DEFAULT_SCHEDULE = { cron: '0 2 * * 0', timezone: 'UTC' } as const;

/** The settings of one school as the API writes them. The secret arrives already sealed. */
export interface IntegrationSettings {
  serverUrl: string;
  clientId: string;
  active: boolean;
  testRun: boolean;
  notificationsEnabled: boolean;
  notificationRecipients: string[];
  gradeFrom: number;
  gradeTo: number;
  mappingPowerschoolId: 'DCID' | 'STUDENT_NUMBER';
  mappingDateOfBirth: boolean;
  mappingGender: boolean;
  /** Default false. */
  mappingGradeLevel?: boolean;
  /** PowerSchool school numbers; omitted or empty: every school. */
  powerschoolSchools?: number[];
  /** Omitted: on (the setting's default). */
  matchingEnabled?: boolean;
  scheduleCron: string;
  scheduleTimezone: string;
  /** Already checked and stripped of ranges wholly in the past; omitted: none. */
  blackouts?: BlackoutRange[];
  /** Omitted: the defaults. */
  safety?: SafetySettings;
}

export interface SealedSecret {
  ciphertext: string;
  keyId: string;
}

export type PutIntegrationResult =
  | { outcome: 'created' | 'replaced'; row: Integration }
  /** No integration exists yet and no secret was given: creating one needs a secret. */
  | { outcome: 'secret_required' }
  /** serverUrl or clientId changes and no secret was given: the stored one stays with its host and client. */
  | { outcome: 'secret_required_for_move' };

/**
 * Creates or replaces a school's settings. `secret` undefined keeps the stored one (replace only,
 * and only while serverUrl and clientId stay as stored). One transaction: the existing row is
 * locked first, so a concurrent DELETE or move cannot slip between the check and the write, and a
 * concurrent create resolves through ON CONFLICT.
 */
export async function putIntegration(
  db: Db,
  schoolId: string,
  settings: IntegrationSettings,
  secret: SealedSecret | undefined,
): Promise<PutIntegrationResult> {
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('integrations')
      .select(['server_url', 'client_id'])
      .where('school_id', '=', schoolId)
      .forUpdate()
      .executeTakeFirst();
    if (
      existing &&
      !secret &&
      (existing.server_url !== settings.serverUrl || existing.client_id !== settings.clientId)
    ) {
      return { outcome: 'secret_required_for_move' };
    }
    const values = {
      server_url: settings.serverUrl,
      client_id: settings.clientId,
      active: settings.active,
      test_run: settings.testRun,
      notifications_enabled: settings.notificationsEnabled,
      notification_recipients: settings.notificationRecipients,
      grade_from: settings.gradeFrom,
      grade_to: settings.gradeTo,
      mapping_powerschool_id: settings.mappingPowerschoolId,
      mapping_date_of_birth: settings.mappingDateOfBirth,
      mapping_gender: settings.mappingGender,
      mapping_grade_level: settings.mappingGradeLevel ?? false,
      powerschool_schools: settings.powerschoolSchools ?? [],
      matching_enabled: settings.matchingEnabled ?? true,
      schedule_cron: settings.scheduleCron,
      schedule_timezone: settings.scheduleTimezone,
      blackouts: JSON.stringify(settings.blackouts ?? []),
      ...safetyColumns(settings.safety ?? DEFAULT_SAFETY),
    };
    const secretValues = secret
      ? { client_secret_encrypted: secret.ciphertext, client_secret_key_id: secret.keyId }
      : {};

    if (existing) {
      const row = await trx
        .updateTable('integrations')
        .set({ ...values, ...secretValues, updated_at: sql`now()`, settings_version: nextSettingsVersion() })
        .where('school_id', '=', schoolId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { outcome: 'replaced', row };
    }
    if (!secret) return { outcome: 'secret_required' };
    const inserted = await trx
      .insertInto('integrations')
      .values({
        school_id: schoolId,
        ...values,
        client_secret_encrypted: secret.ciphertext,
        client_secret_key_id: secret.keyId,
      })
      .onConflict((oc) =>
        oc
          .column('school_id')
          .doUpdateSet({ ...values, ...secretValues, updated_at: sql`now()`, settings_version: nextSettingsVersion() }),
      )
      .returningAll()
      .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
      .executeTakeFirstOrThrow();
    const { inserted: wasInserted, ...row } = inserted;
    return { outcome: wasInserted ? 'created' : 'replaced', row: row as Integration };
  });
}

/**
 * Pause/resume of one school. It also clears a bulk pause's note and mark: the school's own state
 * is now what someone chose for it. Idempotent: an unchanged row keeps updated_at and its settings version.
 */
export async function setIntegrationActive(
  db: Db,
  schoolId: string,
  active: boolean,
): Promise<Integration | undefined> {
  const changed = await db
    .updateTable('integrations')
    .set({
      active,
      pause_note: null,
      paused_in_bulk: false,
      updated_at: sql`now()`,
      settings_version: nextSettingsVersion(),
    })
    .where('school_id', '=', schoolId)
    .where((eb) =>
      eb.or([eb('active', '=', !active), eb('pause_note', 'is not', null), eb('paused_in_bulk', '=', true)]),
    )
    .returningAll()
    .executeTakeFirst();
  return changed ?? getIntegration(db, schoolId);
}

/** Returns whether a row was deleted. Runs and students are kept (they have no foreign key to it). */
export async function deleteIntegration(db: Db, schoolId: string): Promise<boolean> {
  const res = await db.deleteFrom('integrations').where('school_id', '=', schoolId).executeTakeFirst();
  return res.numDeletedRows > 0n;
}

/** Secrets sealed with a key other than `currentKeyId`, for re-sealing after a key rotation. */
export async function listSecretsNotSealedWith(
  db: Db,
  currentKeyId: string,
): Promise<Array<{ schoolId: string; sealed: SealedSecret }>> {
  const rows = await db
    .selectFrom('integrations')
    .select(['school_id', 'client_secret_encrypted', 'client_secret_key_id'])
    .where('client_secret_key_id', '<>', currentKeyId)
    .execute();
  return rows.map((r) => ({
    schoolId: r.school_id,
    sealed: { ciphertext: r.client_secret_encrypted, keyId: r.client_secret_key_id },
  }));
}

/**
 * Replaces one school's sealed secret, only if it is still the one we read (a concurrent PUT with
 * a new secret wins). Does not touch updated_at or the settings version: the settings did not change.
 */
export async function replaceSealedSecret(
  db: Db,
  schoolId: string,
  previous: SealedSecret,
  next: SealedSecret,
): Promise<boolean> {
  const res = await db
    .updateTable('integrations')
    .set({ client_secret_encrypted: next.ciphertext, client_secret_key_id: next.keyId })
    .where('school_id', '=', schoolId)
    .where('client_secret_encrypted', '=', previous.ciphertext)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}
