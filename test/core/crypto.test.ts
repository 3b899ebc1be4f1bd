import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyId, SealError, Sealer } from '../../core/crypto/seal.js';
import {
  equalHashes,
  equalSecrets,
  newApiKey,
  newId,
  newInviteCode,
  parseApiKey,
  randomToken,
  sha256,
} from '../../core/crypto/tokens.js';

const KEY = Buffer.alloc(32, 1);
const OTHER_KEY = Buffer.alloc(32, 2);

/** Flips one bit of one base64url part of sealed text (index 2 = iv, 3 = tag, 4 = ciphertext). */
function flipBit(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part] as string, 'base64url');
  bytes[0] = (bytes[0] as number) ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('Sealer', () => {
  it('opens what it sealed, in the same context', () => {
    const s = new Sealer(KEY);
    for (const plain of ['123456:AAbbCCddEEffGGhhIIjjKK', '', 'ünïcødé ✓ 🔑', 'x'.repeat(10_000)]) {
      const sealed = s.seal(plain, 'tenant_bot:abc');
      expect(sealed).not.toContain(plain || '\u0000');
      expect(s.open(sealed, 'tenant_bot:abc')).toBe(plain);
    }
  });

  it('writes v1.<keyId>.<iv>.<tag>.<ciphertext> with a fresh iv each time', () => {
    const s = new Sealer(KEY);
    const a = s.seal('same');
    const b = s.seal('same');
    expect(a).not.toBe(b);
    const parts = a.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe(keyId(KEY));
    expect(keyId(KEY)).toMatch(/^[0-9a-f]{8}$/);
  });

  it.each([
    ['iv', 2],
    ['tag', 3],
    ['ciphertext', 4],
  ])('refuses text whose %s was tampered with', (_name, part) => {
    const s = new Sealer(KEY);
    const sealed = s.seal('a secret bot token', 'ctx');
    expect(() => s.open(flipBit(sealed, part), 'ctx')).toThrow(SealError);
  });

  it('refuses text whose key id was changed', () => {
    // Both keys are present, so the forged id names a real key: authentication must fail.
    const s = new Sealer(KEY, [OTHER_KEY]);
    const sealed = s.seal('secret', 'ctx');
    const forged = sealed.replace(`.${keyId(KEY)}.`, `.${keyId(OTHER_KEY)}.`);
    expect(forged).not.toBe(sealed);
    expect(() => s.open(forged, 'ctx')).toThrow(SealError);
    expect(() => s.open(forged, 'ctx')).toThrow(/authentication/);
  });

  it('refuses truncated, extended and malformed text', () => {
    const s = new Sealer(KEY);
    const sealed = s.seal('secret');
    const parts = sealed.split('.');
    expect(() => s.open(sealed.slice(0, -4))).toThrow(SealError);
    expect(() => s.open(`${sealed}AAAA`)).toThrow(SealError);
    expect(() => s.open(parts.slice(0, 4).join('.'))).toThrow(SealError);
    expect(() => s.open(`v2.${parts.slice(1).join('.')}`)).toThrow(SealError);
    expect(() => s.open([...parts.slice(0, 2), 'AAAA', ...parts.slice(3)].join('.'))).toThrow(SealError);
    expect(() => s.open('')).toThrow(SealError);
    expect(() => s.open('plain text')).toThrow(SealError);
  });

  it('refuses to open in another context', () => {
    const s = new Sealer(KEY);
    const sealed = s.seal('secret', 'tenant_bot:a');
    expect(() => s.open(sealed, 'tenant_bot:b')).toThrow(SealError);
    expect(() => s.open(sealed)).toThrow(SealError);
  });

  it('refuses text sealed under another key with a clear error naming the key id', () => {
    const sealed = new Sealer(OTHER_KEY).seal('secret');
    expect(() => new Sealer(KEY).open(sealed)).toThrow(SealError);
    expect(() => new Sealer(KEY).open(sealed)).toThrow(keyId(OTHER_KEY));
  });

  it('rotates keys: opens old text, seals under the new key, flags old text for resealing', () => {
    const old = new Sealer(OTHER_KEY);
    const oldSealed = old.seal('bot token', 'ctx');
    const rotated = new Sealer(KEY, [OTHER_KEY]);
    expect(rotated.open(oldSealed, 'ctx')).toBe('bot token');
    expect(rotated.needsReseal(oldSealed)).toBe(true);
    const resealed = rotated.seal('bot token', 'ctx');
    expect(resealed.split('.')[1]).toBe(keyId(KEY));
    expect(rotated.needsReseal(resealed)).toBe(false);
    // The old server cannot open what the new key sealed.
    expect(() => old.open(resealed, 'ctx')).toThrow(SealError);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new Sealer(Buffer.alloc(16))).toThrow(SealError);
    expect(() => new Sealer(KEY, [Buffer.alloc(31)])).toThrow(SealError);
  });
});

describe('tokens', () => {
  it('randomToken uses lower-case base32 and carries the asked entropy', () => {
    expect(randomToken()).toMatch(/^[a-z2-7]{32}$/);
    expect(randomToken(10)).toMatch(/^[a-z2-7]{16}$/);
    expect(randomToken(1)).toMatch(/^[a-z2-7]{2}$/);
    expect(randomToken(24)).toHaveLength(Math.ceil((24 * 8) / 5));
    expect(newId()).toMatch(/^[a-z2-7]{16}$/);
    expect(newInviteCode()).toMatch(/^[a-z2-7]{10}$/);
  });

  it('randomToken is unique over 10k draws and uses the whole alphabet', () => {
    const seen = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const t = randomToken(10);
      seen.add(t);
      for (const ch of t) chars.add(ch);
    }
    expect(seen.size).toBe(10_000);
    expect([...chars].sort().join('')).toBe('234567abcdefghijklmnopqrstuvwxyz');
  });

  it('newApiKey and parseApiKey round-trip', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = newApiKey();
      expect(k.key).toMatch(/^ak_[a-z2-7]{12}_[a-z2-7]{32}$/);
      expect(parseApiKey(k.key)).toEqual({ id: k.id, secret: k.secret });
      keys.add(k.key);
    }
    expect(keys.size).toBe(200);
  });

  it('parseApiKey rejects malformed keys', () => {
    const { id, secret } = newApiKey();
    for (const bad of [
      '',
      'ak_',
      `${id}_${secret}`,
      `sk_${id}_${secret}`,
      `ak_${id}${secret}`,
      `ak_${id}_${secret}x`,
      `ak_${id.slice(1)}_${secret}`,
      `ak_${id}_${secret.toUpperCase()}`,
      `ak_${id}_${secret.slice(0, 31)}1`,
      ` ak_${id}_${secret}`,
      `ak_${id}_${secret}\n`,
    ]) {
      expect(parseApiKey(bad), bad).toBeUndefined();
    }
  });

  it('equalHashes compares in constant time and is false for different lengths', () => {
    const a = sha256('one');
    expect(equalHashes(a, sha256('one'))).toBe(true);
    expect(equalHashes(a, sha256('two'))).toBe(false);
    expect(equalHashes(a, a.subarray(0, 16))).toBe(false);
    expect(equalHashes(a, Buffer.alloc(0))).toBe(false);
    expect(equalHashes(a, randomBytes(64))).toBe(false);
  });

  it('equalSecrets compares secrets of any length', () => {
    expect(equalSecrets('token', 'token')).toBe(true);
    expect(equalSecrets('token', 'token2')).toBe(false);
    expect(equalSecrets('', '')).toBe(true);
  });
});
