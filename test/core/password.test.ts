import { hash } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import {
  assertPasswordPolicy,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  passwordNeedsRehash,
  verifyPassword,
} from '../../core/crypto/password.js';
import { ValidationError } from '../../core/errors.js';

describe('hashPassword / verifyPassword', () => {
  it('hashes with argon2id at the OWASP parameters and verifies only the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapl')).toBe(false);
    expect(await verifyPassword(stored, '')).toBe(false);
  });

  it('salts every hash, so one password gives two different hashes', async () => {
    const a = await hashPassword('same password twice');
    const b = await hashPassword('same password twice');
    expect(a).not.toBe(b);
    expect(await verifyPassword(b, 'same password twice')).toBe(true);
  });

  it('treats a malformed hash or an over-long password as a mismatch, not an exception', async () => {
    expect(await verifyPassword('not a phc string', 'whatever password')).toBe(false);
    const stored = await hashPassword('a reasonable password');
    expect(await verifyPassword(stored, 'x'.repeat(MAX_PASSWORD_LENGTH + 1))).toBe(false);
  });

  it('asks for a rehash only when the stored parameters are older than the policy', async () => {
    expect(passwordNeedsRehash(await hashPassword('current parameters'))).toBe(false);
    const weak = await hash('older parameters', { memoryCost: 4096, timeCost: 1, parallelism: 1 });
    expect(passwordNeedsRehash(weak)).toBe(true);
    expect(passwordNeedsRehash('garbage')).toBe(true);
  });
});

describe('password policy', () => {
  it('refuses fewer than 12 characters with a ValidationError that says how many are needed', async () => {
    await expect(hashPassword('elevenchars')).rejects.toThrow(ValidationError);
    await expect(hashPassword('elevenchars')).rejects.toThrow(/at least 12 characters/);
    try {
      assertPasswordPolicy('short');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('weak_password');
      expect((err as ValidationError).status).toBe(400);
    }
  });

  it('accepts exactly 12 characters and counts emoji as one character each', () => {
    expect(() => assertPasswordPolicy('twelve chars')).not.toThrow();
    // 11 key emoji are 22 UTF-16 units but 11 characters: still too short.
    expect(() => assertPasswordPolicy('🔑'.repeat(11))).toThrow(ValidationError);
    expect(() => assertPasswordPolicy('🔑'.repeat(12))).not.toThrow();
  });

  it('refuses whitespace-only and absurdly long passwords', () => {
    expect(() => assertPasswordPolicy(' '.repeat(20))).toThrow(/only spaces/);
    expect(() => assertPasswordPolicy('x'.repeat(MAX_PASSWORD_LENGTH + 1))).toThrow(/at most/);
  });
});
