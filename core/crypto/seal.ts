import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/** Thrown when sealed text cannot be opened: tampered, truncated, or sealed under another key. */
export class SealError extends Error {
  override name = 'SealError';
}

/** The id of a master key: the first 8 hex characters of its SHA-256 (not secret). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Seals secrets (bot tokens, provider keys) with AES-256-GCM under the master key.
 * Sealed text is `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts); the key id lets
 * a rotation keep old keys for opening while sealing with the new one.
 */
export class Sealer {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  /** `current` seals; `previous` keys may still open what they sealed. */
  constructor(current: Buffer, previous: Buffer[] = []) {
    for (const k of [current, ...previous]) {
      if (k.length !== 32) throw new SealError('a master key must be 32 bytes');
      this.keys.set(keyId(k), k);
    }
    this.currentId = keyId(current);
  }

  /** Seals a UTF-8 string. `context` (e.g. "tenant_bot:<id>") is bound as associated data. */
  seal(plain: string, context = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentId), iv);
    cipher.setAAD(Buffer.from(`${VERSION}.${this.currentId}.${context}`));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
    return [VERSION, this.currentId, ...parts].join('.');
  }

  /** Opens sealed text; throws SealError, never returns garbage, when anything is wrong. */
  open(sealed: string, context = ''): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SealError('not a sealed secret (bad format)');
    const [, id, ivText, tagText, bodyText] = parts as [string, string, string, string, string];
    const key = this.keys.get(id);
    if (!key) throw new SealError(`sealed under key ${id}, which this server does not have`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== 12 || tag.length !== 16) throw new SealError('sealed secret is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(`${VERSION}.${id}.${context}`));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(bodyText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealError('sealed secret failed authentication (tampered, or opened in the wrong context)');
    }
  }

  /** True when the text was sealed under an older key and should be sealed again. */
  needsReseal(sealed: string): boolean {
    return sealed.split('.')[1] !== this.currentId;
  }

  private key(id: string): Buffer {
    const k = this.keys.get(id);
    if (!k) throw new SealError(`no key ${id}`);
    return k;
  }
}
