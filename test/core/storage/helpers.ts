/** Shared pieces of the object store tests: the two backends and stream helpers. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FsObjectStore } from '../../../core/storage/fs.js';
import type { ListedObject, ObjectPrefix, ObjectStore } from '../../../core/storage/object-store.js';
import { S3ObjectStore } from '../../../core/storage/s3.js';
import { type FakeS3, startFakeS3 } from '../../fakes/s3.js';

/** A store under test and how to clean it up. */
export interface StoreUnderTest {
  store: ObjectStore;
  /** The fake S3 server behind an S3 store. */
  s3?: FakeS3;
  /** The root folder of an fs store. */
  dir?: string;
  cleanup(): Promise<void>;
}

/** Bodies larger than this go as multipart in the S3 tests (small, so 25 MB exercises it). */
export const TEST_SINGLE_PUT_LIMIT = 8 * 1024 * 1024;

/** A store in a fresh temporary folder. */
export function fsStore(): StoreUnderTest {
  const dir = mkdtempSync(path.join(tmpdir(), 'anvil-objects-'));
  return {
    store: new FsObjectStore(path.join(dir, 'objects')),
    dir,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An S3 store in front of a fresh fake S3 server (no bucket yet: the store creates it). */
export async function s3Store(
  over: { accessKey?: string; secretKey?: string; retryDelayMs?: number; timeoutMs?: number } = {},
): Promise<StoreUnderTest> {
  const s3 = await startFakeS3();
  const store = new S3ObjectStore({
    endpoint: s3.url,
    accessKey: over.accessKey ?? s3.accessKey,
    secretKey: over.secretKey ?? s3.secretKey,
    bucket: 'anvil',
    region: s3.region,
    singlePutLimit: TEST_SINGLE_PUT_LIMIT,
    retryDelayMs: over.retryDelayMs ?? 10,
    timeoutMs: over.timeoutMs,
  });
  return { store, s3, cleanup: () => s3.close() };
}

/** Reads a stream to the end. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Everything `list` yields. */
export async function listAll(store: ObjectStore, prefix: ObjectPrefix): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const o of store.list(prefix)) out.push(o);
  return out;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * A stream of `total` pseudo-random bytes in 1 MiB chunks (deterministic from `seed`), and
 * the SHA-256 they hash to. `failAfter` makes it error once that many bytes were sent.
 */
export function bigStream(total: number, seed = 1, failAfter?: number): { stream: Readable; sha256: string } {
  const chunk = 1024 * 1024;
  const hash = createHash('sha256');
  const pieces: Buffer[] = [];
  for (let sent = 0, i = 0; sent < total; sent += chunk, i++) {
    const n = Math.min(chunk, total - sent);
    const piece = Buffer.alloc(n, (seed * 31 + i * 7) % 251);
    if (n >= 4) piece.writeUInt32BE(i, 0);
    pieces.push(piece);
    hash.update(piece);
  }
  const stream = Readable.from(
    (async function* () {
      let sent = 0;
      for (const p of pieces) {
        if (failAfter !== undefined && sent >= failAfter) throw new Error('the source failed half-way');
        sent += p.length;
        yield p;
        await new Promise((r) => setImmediate(r));
      }
    })(),
  );
  return { stream, sha256: hash.digest('hex') };
}
