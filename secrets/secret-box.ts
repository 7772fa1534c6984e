import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for PowerSchool client secrets at rest. Each sealed value is stored with the id of
 * the key that sealed it, so SECRETS_KEY can rotate: the new key seals, previous keys still open.
 */
export interface Sealed {
  /** base64 of iv (12 bytes) ‖ auth tag (16 bytes) ‖ ciphertext */
  ciphertext: string;
  keyId: string;
}

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/** A key's id: not secret, derived from the key so the same key always has the same id. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('powerschool-sync key id:').update(key).digest('hex').slice(0, 16);
}

export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly current: { id: string; key: Buffer };

  /** keys[0] seals; every key opens what it sealed. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new SecretBoxError('at least one key is required');
    for (const k of keys) if (k.length !== 32) throw new SecretBoxError('keys must be 32 bytes');
    this.keys = new Map(keys.map((k) => [keyIdOf(k), k]));
    this.current = { id: keyIdOf(keys[0]!), key: keys[0]! };
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, associatedData = ''): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'), keyId: this.current.id };
  }

  /**
   * `associatedData` binds a secret to its row (we pass the school id), so a ciphertext copied to
   * another school's row does not open.
   */
  open(sealed: Sealed, associatedData = ''): string {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new SecretBoxError(`no key with id ${sealed.keyId} is configured (add it to SECRETS_KEY_PREVIOUS)`);
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    if (raw.length < 28) throw new SecretBoxError('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed value failed authentication (wrong key or tampered data)');
    }
  }
}
