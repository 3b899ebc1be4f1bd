import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, S3Error } from 'minio';
import { AnvilError, NotFoundError, UpstreamRefusedError, UpstreamUnavailableError } from '../errors.js';
import { BodyDigest, readHead } from './body.js';
import {
  type ListedObject,
  type ObjectInfo,
  type ObjectKey,
  type ObjectMeta,
  type ObjectPrefix,
  ObjectSizeMismatchError,
  type ObjectStore,
  parseObjectKey,
  parseObjectPrefix,
  type StoredObject,
  safeContentType,
} from './object-store.js';

/** Where the S3 store connects, and how it behaves. */
export interface S3StoreOptions {
  /** `http(s)://host[:port]`, the server root (S3_ENDPOINT). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
  /**
   * Bodies up to this many bytes are read into memory and sent in one PutObject with a
   * known length, so they can be retried; larger ones stream as a multipart upload
   * (default 64 MiB, minio-js's own part size).
   */
  singlePutLimit?: number;
  /** Retries of a request that got no usable answer (503 SlowDown, a dropped connection); default 1. */
  retries?: number;
  /** First retry delay in ms, doubled each time (default 200). */
  retryDelayMs?: number;
  /**
   * A request is given up (as unavailable, so retried like a dropped connection) when its
   * connection has been silent this long: no answer, or an answer that stopped midway
   * (default 30 s). Without it a hung S3 server would hold an upload, and the Telegram
   * chat waiting on it, forever.
   */
  timeoutMs?: number;
}

/** Service name in Anvil's upstream errors. */
const SERVICE = 'S3';

/** S3 error codes that mean "try again later", not "no". */
const UNAVAILABLE_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'OperationAborted',
  'XMinioServerNotInitialized',
]);

/** The HTTP status S3 answers each refusal with (minio-js keeps the code, not the status). */
const REFUSED_STATUS: Record<string, number> = {
  AccessDenied: 403,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  AllAccessDisabled: 403,
  AccountProblem: 403,
  NoSuchBucket: 404,
  NoSuchUpload: 404,
  MethodNotAllowed: 405,
  BucketAlreadyExists: 409,
  EntityTooLarge: 400,
  InvalidBucketName: 400,
  AuthorizationHeaderMalformed: 400,
};

/**
 * Objects on an S3 server (MinIO in compose, or any S3) through the `minio` client, using
 * only the plain S3 API with path-style URLs. The bucket is created on first use (or by
 * `check()` at startup) when missing. Errors come out as Anvil's: a missing object is
 * `NotFoundError` (or undefined from `head`), a refusal (bad credentials, no such bucket)
 * `UpstreamRefusedError('S3', status, …)`, no usable answer (connection refused or dropped,
 * 503 SlowDown) `UpstreamUnavailableError('S3', …)`. Requests that can be replayed are
 * retried once with a short backoff first; minio-js's own retry is off (it logs through
 * `console.warn` and hides the S3 error code).
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  private readonly client: Client;
  private readonly region: string;
  private readonly singlePutLimit: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private bucketReady: Promise<void> | undefined;

  constructor(opts: S3StoreOptions) {
    const url = new URL(opts.endpoint);
    if (url.pathname.replace(/\/+$/, '') !== '' || url.search) {
      throw new Error(`S3_ENDPOINT: must be the server's root URL, without a path (got ${opts.endpoint})`);
    }
    this.bucket = opts.bucket;
    this.region = opts.region;
    this.singlePutLimit = opts.singlePutLimit ?? 64 * 1024 * 1024;
    this.retries = opts.retries ?? 1;
    this.retryDelayMs = opts.retryDelayMs ?? 200;
    this.client = new Client({
      endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : undefined,
      useSSL: url.protocol === 'https:',
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      region: opts.region,
      pathStyle: true,
      retryOptions: { disableRetry: true },
      transport: silenceLimited(url.protocol === 'https:' ? https : http, opts.timeoutMs ?? 30_000),
    });
  }

  async put(key: ObjectKey, body: Buffer | Readable, meta: ObjectMeta): Promise<StoredObject> {
    const k = parseObjectKey(key);
    await this.ensureBucket();
    const headers = { 'Content-Type': safeContentType(meta.contentType) };
    const head = await readHead(body, this.singlePutLimit);
    if (head.complete) {
      const buf = Buffer.concat(head.chunks, head.size);
      if (meta.size !== undefined && buf.length !== meta.size) throw new ObjectSizeMismatchError(meta.size, buf.length);
      await this.call('PutObject', () => this.client.putObject(this.bucket, k, buf, buf.length, headers));
      return { key: k, size: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
    }
    return this.putLarge(k, head.chunks, head.rest, meta, headers);
  }

  async get(key: ObjectKey): Promise<Readable> {
    const k = parseObjectKey(key);
    await this.ensureBucket();
    const res = await this.call('GetObject', () => this.client.getObject(this.bucket, k));
    // A connection dropped half-way surfaces as Anvil's error too, not a bare ECONNRESET.
    const out = new PassThrough();
    res.once('error', (err) => out.destroy(toAnvilError(err, 'GetObject (body)')));
    out.once('close', () => {
      if (!res.readableEnded) res.destroy();
    });
    return res.pipe(out);
  }

  async head(key: ObjectKey): Promise<ObjectInfo | undefined> {
    const k = parseObjectKey(key);
    await this.ensureBucket();
    try {
      const stat = await this.call('HeadObject', () => this.client.statObject(this.bucket, k));
      const type = stat.metaData['content-type'];
      return { size: stat.size, contentType: typeof type === 'string' ? type : 'application/octet-stream' };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async delete(key: ObjectKey): Promise<void> {
    const k = parseObjectKey(key);
    await this.ensureBucket();
    try {
      await this.call('DeleteObject', () => this.client.removeObject(this.bucket, k));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async *list(prefix: ObjectPrefix): AsyncIterable<ListedObject> {
    const p = parseObjectPrefix(prefix);
    await this.ensureBucket();
    try {
      for await (const item of this.client.listObjectsV2(this.bucket, p, true)) {
        const { name, size } = item as { name?: string; size?: number };
        if (name === undefined || !name.startsWith(p) || !isAnvilKey(name)) continue; // not written by Anvil
        yield { key: name as ObjectKey, size: size ?? 0 };
      }
    } catch (err) {
      throw toAnvilError(err, 'ListObjectsV2');
    }
  }

  async check(): Promise<void> {
    await this.ensureBucket();
    const exists = await this.call('HeadBucket', () => this.client.bucketExists(this.bucket));
    if (!exists) {
      this.bucketReady = undefined;
      throw new UpstreamRefusedError(SERVICE, 404, `the bucket ${this.bucket} does not exist`);
    }
  }

  /** Creates the bucket when missing, once (a failure is tried again on the next call). */
  private ensureBucket(): Promise<void> {
    this.bucketReady ??= (async () => {
      if (await this.call('HeadBucket', () => this.client.bucketExists(this.bucket))) return;
      await this.call('CreateBucket', () =>
        this.client.makeBucket(this.bucket, this.region).catch((err: unknown) => {
          // Another Anvil service created it at the same moment.
          if (!(err instanceof S3Error && err.code === 'BucketAlreadyOwnedByYou')) throw err;
        }),
      );
    })().catch((err: unknown) => {
      this.bucketReady = undefined;
      throw err;
    });
    return this.bucketReady;
  }

  /**
   * A body too large to hold: streamed as a multipart upload. minio-js 8.0.7 never settles
   * when the source stream fails half-way (it pipes without forwarding errors), so the
   * source's own error is raced against it, and the upload's parts are aborted.
   */
  private async putLarge(
    key: ObjectKey,
    first: Buffer[],
    rest: AsyncGenerator<Buffer>,
    meta: ObjectMeta,
    headers: Record<string, string>,
  ): Promise<StoredObject> {
    const digest = new BodyDigest();
    for (const chunk of first) digest.update(chunk);
    const source = Readable.from(
      (async function* () {
        yield* first;
        for await (const chunk of rest) {
          digest.update(chunk);
          yield chunk;
        }
      })(),
      { objectMode: false },
    );
    const sourceFailed = new Promise<never>((_, reject) => source.once('error', reject));
    try {
      await Promise.race([
        this.call('PutObject (multipart)', () => this.client.putObject(this.bucket, key, source, meta.size, headers), {
          replayable: false,
        }),
        sourceFailed,
      ]);
    } catch (err) {
      source.destroy();
      await this.client.removeIncompleteUpload(this.bucket, key).catch(() => undefined);
      throw err;
    }
    if (meta.size !== undefined && digest.size !== meta.size) {
      await this.delete(key).catch(() => undefined);
      throw new ObjectSizeMismatchError(meta.size, digest.size);
    }
    return { key, size: digest.size, sha256: digest.hex() };
  }

  /** Runs one S3 call with Anvil's errors, retrying a replayable one that got no usable answer. */
  private async call<T>(what: string, fn: () => Promise<T>, opts: { replayable?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (raw) {
        const err = toAnvilError(raw, what);
        const again = err instanceof UpstreamUnavailableError && opts.replayable !== false && attempt < this.retries;
        if (!again) throw err;
        await sleep(this.retryDelayMs * 2 ** attempt);
      }
    }
  }
}

/** True for a key `tenantKey` could have built. */
function isAnvilKey(name: string): boolean {
  try {
    parseObjectKey(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * node:http(s) for minio-js, with every request destroyed once its socket has been silent
 * for `timeoutMs` (minio-js sets no timeout of its own).
 */
function silenceLimited(base: typeof http | typeof https, timeoutMs: number): Pick<typeof http, 'request'> {
  const request = (...args: Parameters<typeof http.request>): http.ClientRequest => {
    const req = (base.request as typeof http.request)(...args);
    req.setTimeout(timeoutMs, () => {
      const err = Object.assign(new Error(`no answer for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
      req.destroy(err);
    });
    return req;
  };
  return { request: request as typeof http.request };
}

/**
 * Maps what minio-js throws to Anvil's errors: S3's "no such key" (or a bodiless 404 on
 * HEAD) to NotFoundError; S3 error codes to refused or unavailable; anything else (refused
 * or reset connections, DNS, garbage instead of XML) to unavailable.
 */
export function toAnvilError(raw: unknown, what: string): AnvilError {
  if (raw instanceof AnvilError) return raw;
  if (raw instanceof S3Error) {
    const code = raw.code ?? 'UnknownError';
    const detail = `${what}: ${code}${raw.message ? ` (${raw.message})` : ''}`;
    if (code === 'NoSuchKey' || code === 'NotFound')
      return new NotFoundError(`no such object (${what})`, 'object_not_found');
    if (UNAVAILABLE_CODES.has(code)) return new UpstreamUnavailableError(SERVICE, detail, { cause: raw });
    return new UpstreamRefusedError(SERVICE, REFUSED_STATUS[code] ?? 400, detail);
  }
  // minio-js 8.0.7 answers 408, 429 and 5xx with a plain Error from its retry loop (even
  // with retries off), without S3's code: all of them mean "not now".
  const status = raw instanceof Error ? /Retryable HTTP status: (\d+)/.exec(raw.message)?.[1] : undefined;
  if (status) return new UpstreamUnavailableError(SERVICE, `${what}: HTTP ${status}`, { cause: raw });
  const message =
    raw instanceof Error
      ? [(raw as NodeJS.ErrnoException).code, raw.message].filter(Boolean).join(' ')
      : JSON.stringify(raw);
  return new UpstreamUnavailableError(SERVICE, `${what}: ${message}`, { cause: raw });
}
