import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// Lower-case base32 without padding (RFC 4648 alphabet): safe in URLs, cookies, deep links.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random lower-case base32 string carrying `bytes` bytes of CSPRNG entropy. */
export function randomToken(bytes = 20): string {
  const buf = randomBytes(bytes);
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A new row id: 16 base32 characters (80 bits), e.g. for tenants, users and messages. */
export const newId = (): string => randomToken(10);

/** SHA-256 of a string, as a Buffer (for secrets stored as hashes). */
export const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** SHA-256 of a string, as hex. */
export const sha256Hex = (text: string): string => sha256(text).toString('hex');

/** Compares two hashes in constant time (false for different lengths). */
export function equalHashes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Compares two secrets of any length in constant time, by hashing both first. */
export const equalSecrets = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b));

/** A tenant API key, split into its public id and its secret. */
export interface ApiKeyParts {
  id: string;
  secret: string;
}

const API_KEY = /^ak_([a-z2-7]{12})_([a-z2-7]{32})$/;

/** Makes a new API key `ak_<id>_<secret>`: the id is stored in clear, the secret only hashed. */
export function newApiKey(): ApiKeyParts & { key: string } {
  const id = randomToken(8).slice(0, 12);
  const secret = randomToken(20);
  return { id, secret, key: `ak_${id}_${secret}` };
}

/** Splits an API key into id and secret, or returns undefined when it is not one. */
export function parseApiKey(key: string): ApiKeyParts | undefined {
  const m = API_KEY.exec(key);
  return m?.[1] && m[2] ? { id: m[1], secret: m[2] } : undefined;
}

/** A single-use invite code: 10 base32 characters (50 bits); only its hash is stored. */
export const newInviteCode = (): string => randomToken(7).slice(0, 10);
