// Re-seals client secrets sealed with a previous SECRETS_KEY under the current one.
import type { Db } from '../db/connection.js';
import { listSecretsNotSealedWith, replaceSealedSecret } from '../db/queries/integrations.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { Log } from '../logging/log.js';

export interface ResealResult {
  resealed: number;
  /** Sealed with a key that is no longer configured (or tampered): left as is, logged. */
  unreadable: number;
}

/**
 * After SECRETS_KEY rotates (new key in SECRETS_KEY, old one in SECRETS_KEY_PREVIOUS), re-seals
 * every client secret still sealed with an old key, so the old key can be dropped later.
 */
export async function resealSecrets(db: Db, box: SecretBox, logger: Log): Promise<ResealResult> {
  const result: ResealResult = { resealed: 0, unreadable: 0 };
  for (const { schoolId, sealed } of await listSecretsNotSealedWith(db, box.currentKeyId)) {
    let plain: string;
    try {
      plain = box.open(sealed, schoolId);
    } catch (err) {
      result.unreadable += 1;
      logger.warn({ schoolId, keyId: sealed.keyId, reason: (err as Error).message }, 'client secret cannot be opened');
      continue;
    }
    if (await replaceSealedSecret(db, schoolId, sealed, box.seal(plain, schoolId))) result.resealed += 1;
  }
  if (result.resealed > 0 || result.unreadable > 0)
    logger.info({ ...result }, 'client secrets re-sealed with the current key');
  return result;
}
