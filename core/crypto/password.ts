import { type Algorithm, hash, type Options, parseOptions, verify } from '@node-rs/argon2';
import { ValidationError } from '../errors.js';

// `Algorithm` is an ambient const enum, which isolatedModules cannot read; 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

/** Argon2id with OWASP's minimum recommendation: 19 MiB of memory, 2 passes, 1 lane. */
export const PASSWORD_HASH_OPTIONS: Readonly<Options> = Object.freeze({
  algorithm: ARGON2ID,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/** The shortest password an operator may choose, in characters. */
export const MIN_PASSWORD_LENGTH = 12;

/**
 * The longest password accepted, in characters. Long passphrases are welcome, but a
 * megabyte of "password" would only be a way to make the server hash for a long time.
 */
export const MAX_PASSWORD_LENGTH = 1_024;

/** Counts characters as people do (code points), so "🔑" is one character, not two. */
const length = (text: string): number => [...text].length;

/**
 * Checks a new password against the policy: 12 to 1,024 characters, not only whitespace.
 * Throws ValidationError (`weak_password`) with a message that says what to change.
 */
export function assertPasswordPolicy(plain: string): void {
  const n = length(plain);
  if (n < MIN_PASSWORD_LENGTH) {
    throw new ValidationError(
      `a password needs at least ${MIN_PASSWORD_LENGTH} characters (this one has ${n}); a few unrelated words make a good one`,
      'weak_password',
    );
  }
  if (n > MAX_PASSWORD_LENGTH) {
    throw new ValidationError(`a password may have at most ${MAX_PASSWORD_LENGTH} characters`, 'weak_password');
  }
  if (plain.trim() === '') throw new ValidationError('a password cannot be only spaces', 'weak_password');
}

/** Hashes a new password with Argon2id after checking the policy; returns the PHC string to store. */
export async function hashPassword(plain: string): Promise<string> {
  assertPasswordPolicy(plain);
  return hash(plain, PASSWORD_HASH_OPTIONS);
}

/**
 * True when `plain` matches the stored PHC hash. A malformed hash or an over-long input
 * is a mismatch, never an exception, so a login form cannot tell the cases apart.
 */
export async function verifyPassword(storedHash: string, plain: string): Promise<boolean> {
  if (length(plain) > MAX_PASSWORD_LENGTH) return false;
  try {
    return await verify(storedHash, plain);
  } catch {
    return false;
  }
}

/** True when a stored hash was made with other parameters than today's and should be redone at the next login. */
export function passwordNeedsRehash(storedHash: string): boolean {
  try {
    const p = parseOptions(storedHash);
    return (
      p.algorithm !== PASSWORD_HASH_OPTIONS.algorithm ||
      p.memoryCost !== PASSWORD_HASH_OPTIONS.memoryCost ||
      p.timeCost !== PASSWORD_HASH_OPTIONS.timeCost ||
      p.parallelism !== PASSWORD_HASH_OPTIONS.parallelism
    );
  } catch {
    return true;
  }
}
