import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError } from '../../secrets/secret-box.js';

const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);

describe('SecretBox', () => {
  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('s3cr3t-value', 'school-a');
    expect(sealed.ciphertext).not.toContain('s3cr3t');
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('latin1')).not.toContain('s3cr3t');
    expect(box.open(sealed, 'school-a')).toBe('s3cr3t-value');
  });

  it('seals the same value differently each time (random IV)', () => {
    const box = new SecretBox([k1]);
    expect(box.seal('x').ciphertext).not.toBe(box.seal('x').ciphertext);
  });

  it('binds a secret to its school: a ciphertext moved to another row does not open', () => {
    const box = new SecretBox([k1]);
    expect(() => box.open(box.seal('x', 'school-a'), 'school-b')).toThrow(SecretBoxError);
  });

  it('rotates: the new key seals, the previous key still opens old values', () => {
    const sealedWithOld = new SecretBox([k1]).seal('old', 's');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(sealedWithOld, 's')).toBe('old');
    const fresh = rotated.seal('new', 's');
    expect(fresh.keyId).toBe(rotated.currentKeyId);
    expect(fresh.keyId).not.toBe(sealedWithOld.keyId);
    expect(() => new SecretBox([k1]).open(fresh, 's')).toThrow(/no key with id/);
  });

  it('detects tampering', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('value');
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open({ ...sealed, ciphertext: raw.toString('base64') })).toThrow(/authentication/);
  });
});
