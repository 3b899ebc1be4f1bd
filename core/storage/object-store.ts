import type { Readable } from 'node:stream';
import { ValidationError } from '../errors.js';

/**
 * A key inside the object store, always under one tenant's prefix (`tenants/<tenant_id>/…`).
 * Only `tenantKey` and `parseObjectKey` make one, so no key can leave its tenant's prefix.
 */
export type ObjectKey = string & { readonly __objectKey: unique symbol };

/** A tenant's prefix, or a folder inside it, ending in `/` (what `list` walks). */
export type ObjectPrefix = string & { readonly __objectPrefix: unique symbol };

/** What is stored beside an object's bytes. */
export interface ObjectMeta {
  /** The MIME type the object is served with. */
  contentType: string;
  /** The exact byte count when known; `put` refuses a body of another length. */
  size?: number;
}

/** An object as `put` wrote it. */
export interface StoredObject {
  key: ObjectKey;
  size: number;
  /** Hex SHA-256 of the bytes, computed while they streamed through. */
  sha256: string;
}

/** What `head` tells about an object. */
export interface ObjectInfo {
  size: number;
  contentType: string;
}

/** One line of `list`. */
export interface ListedObject {
  key: ObjectKey;
  size: number;
}

/**
 * Where Anvil keeps files, documents and backups: the embedded folder (`fs.ts`) or an S3
 * server (`s3.ts`), chosen at startup by `createObjectStore`. Keys come from `tenantKey`
 * and are checked again by every method. Failures of the backing service surface as
 * `UpstreamRefusedError` (it said no) or `UpstreamUnavailableError` (it could not answer).
 */
export interface ObjectStore {
  /** `fs` or `s3`, for logs and `/readyz`. */
  readonly kind: 'fs' | 's3';
  /**
   * Writes an object whole or not at all: a failure half-way (the body stream erroring, the
   * backend going away) leaves any earlier object under the key as it was.
   */
  put(key: ObjectKey, body: Buffer | Readable, meta: ObjectMeta): Promise<StoredObject>;
  /** The object's bytes; `NotFoundError` when there is none. */
  get(key: ObjectKey): Promise<Readable>;
  /** Size and content type, or undefined when there is no such object. */
  head(key: ObjectKey): Promise<ObjectInfo | undefined>;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: ObjectKey): Promise<void>;
  /** Every object under a prefix, in key order. */
  list(prefix: ObjectPrefix): AsyncIterable<ListedObject>;
  /** Resolves when the store is usable (for `/readyz`); the S3 store creates its bucket here. */
  check(): Promise<void>;
}

/** The root of every tenant's objects. */
const TENANTS = 'tenants';
/** S3 allows 1024 bytes of key. */
const MAX_KEY_BYTES = 1024;
/** Leaves room on ext4/APFS (255 bytes a name) for the embedded store's sidecar names. */
const MAX_SEGMENT_BYTES = 200;
// C0 controls, DEL and C1 controls: invisible in logs, and some S3 servers reject them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a key segment is refused, or undefined when it is fine. */
function segmentProblem(part: string): string | undefined {
  if (part === '') return 'is empty';
  if (part === '.' || part === '..') return 'is a relative path step';
  if (part.startsWith('.')) return 'starts with a dot';
  if (part.includes('/')) return 'contains a slash';
  if (part.includes('\\')) return 'contains a backslash';
  if (CONTROL.test(part)) return 'contains a control character';
  if (part !== part.trim()) return 'starts or ends with white space';
  if (Buffer.byteLength(part) > MAX_SEGMENT_BYTES) return `is longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

function checkSegments(parts: readonly string[], what: string): void {
  for (const part of parts) {
    if (typeof part !== 'string')
      throw new ValidationError(`${what}: every part must be a string`, 'invalid_object_key');
    const problem = segmentProblem(part);
    if (problem)
      throw new ValidationError(`${what}: the part ${JSON.stringify(part)} ${problem}`, 'invalid_object_key');
  }
}

/**
 * The key of a tenant's object: `tenants/<tenantId>/<parts…>`. Refuses any part that could
 * step out of the prefix or hide in it: empty, `.`/`..`, a leading dot, `/`, `\`, control
 * characters, surrounding white space, over 200 bytes (and keys over 1024 bytes).
 */
export function tenantKey(tenantId: string, ...parts: string[]): ObjectKey {
  if (parts.length === 0)
    throw new ValidationError('an object key needs a name under the tenant', 'invalid_object_key');
  checkSegments([tenantId, ...parts], 'object key');
  const key = [TENANTS, tenantId, ...parts].join('/');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new ValidationError(`object key: longer than ${MAX_KEY_BYTES} bytes`, 'invalid_object_key');
  }
  return key as ObjectKey;
}

/** A tenant's prefix (`tenants/<tenantId>/`), or a folder in it, for `list`. */
export function tenantPrefix(tenantId: string, ...parts: string[]): ObjectPrefix {
  checkSegments([tenantId, ...parts], 'object prefix');
  return `${[TENANTS, tenantId, ...parts].join('/')}/` as ObjectPrefix;
}

/**
 * Checks a key read back from elsewhere (a `documents.object_key`, a request) and returns
 * it typed; throws `ValidationError` when it is not one `tenantKey` could have built.
 */
export function parseObjectKey(raw: string): ObjectKey {
  if (typeof raw !== 'string') throw new ValidationError('object key: not a string', 'invalid_object_key');
  const [root, tenantId, ...parts] = raw.split('/');
  if (root !== TENANTS || tenantId === undefined) {
    throw new ValidationError(`object key: must start with ${TENANTS}/<tenant id>/`, 'invalid_object_key');
  }
  return tenantKey(tenantId, ...parts);
}

/** Checks a prefix at a store's boundary (it must end in `/` and stay inside a tenant). */
export function parseObjectPrefix(raw: string): ObjectPrefix {
  if (typeof raw !== 'string' || !raw.endsWith('/')) {
    throw new ValidationError('object prefix: must end with a slash', 'invalid_object_key');
  }
  const [root, tenantId, ...parts] = raw.slice(0, -1).split('/');
  if (root !== TENANTS || tenantId === undefined) {
    throw new ValidationError(`object prefix: must start with ${TENANTS}/<tenant id>/`, 'invalid_object_key');
  }
  return tenantPrefix(tenantId, ...parts);
}

/** The tenant a key belongs to. */
export function tenantOfKey(key: ObjectKey): string {
  return parseObjectKey(key).split('/')[1] as string;
}

/** Thrown by `put` when the body's length differs from `meta.size` (a truncated source). */
export class ObjectSizeMismatchError extends ValidationError {
  override name = 'ObjectSizeMismatchError';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`the object was to be ${expected} bytes but the body had ${actual}`, 'object_size_mismatch');
  }
}

/** A safe Content-Type: a `type/subtype` token (with parameters), else `application/octet-stream`. */
export function safeContentType(value: string | undefined): string {
  const v = value?.trim() ?? '';
  return /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[^"\r\n]*"|[\w.+-]+))*$/.test(v) ? v : 'application/octet-stream';
}
