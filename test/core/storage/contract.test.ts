import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../../core/errors.js';
import {
  type ObjectKey,
  type ObjectPrefix,
  ObjectSizeMismatchError,
  tenantKey,
  tenantPrefix,
} from '../../../core/storage/object-store.js';
import { bigStream, fsStore, listAll, readAll, type StoreUnderTest, s3Store, sha256 } from './helpers.js';

const backends: [string, () => Promise<StoreUnderTest> | StoreUnderTest][] = [
  ['fs', fsStore],
  ['s3 (fake S3 through minio)', () => s3Store()],
];

describe.each(backends)('ObjectStore contract: %s', (_name, make) => {
  let current: StoreUnderTest | undefined;
  const setup = async () => {
    current = await make();
    return current.store;
  };
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });

  it('puts, heads, gets and deletes binary content', async () => {
    const store = await setup();
    const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(10_000)]);
    const key = tenantKey('t1', 'files', '2026-11', 'abc-report final.pdf');
    const put = await store.put(key, body, { contentType: 'application/pdf', size: body.length });
    expect(put).toEqual({ key, size: body.length, sha256: sha256(body) });
    expect(await store.head(key)).toEqual({ size: body.length, contentType: 'application/pdf' });
    expect((await readAll(await store.get(key))).equals(body)).toBe(true);
    await store.delete(key);
    expect(await store.head(key)).toBeUndefined();
    await expect(store.get(key)).rejects.toBeInstanceOf(NotFoundError);
    await store.delete(key); // deleting a missing object is fine
  });

  it('stores empty objects and replaces an object on a second put', async () => {
    const store = await setup();
    const key = tenantKey('t1', 'notes.txt');
    await store.put(key, Buffer.alloc(0), { contentType: 'text/plain' });
    expect(await store.head(key)).toEqual({ size: 0, contentType: 'text/plain' });
    await store.put(key, Readable.from([Buffer.from('second')]), { contentType: 'text/markdown' });
    expect((await readAll(await store.get(key))).toString()).toBe('second');
    expect(await store.head(key)).toEqual({ size: 6, contentType: 'text/markdown' });
  });

  it('streams a 25 MB object of unknown size in and out unchanged', async () => {
    const store = await setup();
    const size = 25 * 1024 * 1024;
    const { stream, sha256: expected } = bigStream(size);
    const key = tenantKey('t1', 'files', 'big.bin');
    const put = await store.put(key, stream, { contentType: 'application/octet-stream' });
    expect(put).toMatchObject({ size, sha256: expected });
    expect((await store.head(key))?.size).toBe(size);
    expect(sha256(await readAll(await store.get(key)))).toBe(expected);
  });

  it('lists a prefix in key order with sizes', async () => {
    const store = await setup();
    for (const [parts, n] of [
      [['files', 'b.txt'], 2],
      [['files', 'a', 'x.txt'], 3],
      [['files', 'a-b.txt'], 4],
      [['other.txt'], 5],
    ] as const) {
      await store.put(tenantKey('t1', ...parts), Buffer.alloc(n, 1), { contentType: 'text/plain' });
    }
    expect(await listAll(store, tenantPrefix('t1', 'files'))).toEqual([
      { key: 'tenants/t1/files/a-b.txt', size: 4 },
      { key: 'tenants/t1/files/a/x.txt', size: 3 },
      { key: 'tenants/t1/files/b.txt', size: 2 },
    ]);
    expect((await listAll(store, tenantPrefix('t1'))).map((o) => o.key)).toHaveLength(4);
    expect(await listAll(store, tenantPrefix('nobody'))).toEqual([]);
  });

  it("never lists one tenant's objects under another tenant's prefix", async () => {
    const store = await setup();
    await store.put(tenantKey('acme', 'files', 'secret.pdf'), Buffer.from('a'), { contentType: 'application/pdf' });
    await store.put(tenantKey('acme2', 'files', 'mine.pdf'), Buffer.from('b'), { contentType: 'application/pdf' });
    expect((await listAll(store, tenantPrefix('acme2'))).map((o) => o.key)).toEqual(['tenants/acme2/files/mine.pdf']);
    expect((await listAll(store, tenantPrefix('acme'))).map((o) => o.key)).toEqual(['tenants/acme/files/secret.pdf']);
  });

  it('refuses a body whose length differs from the size given, and keeps nothing', async () => {
    const store = await setup();
    const key = tenantKey('t1', 'short.bin');
    await expect(store.put(key, Buffer.from('12345'), { contentType: 'text/plain', size: 9 })).rejects.toBeInstanceOf(
      ObjectSizeMismatchError,
    );
    expect(await store.head(key)).toBeUndefined();
  });

  it('keeps nothing when the body stream fails half-way, and the earlier version survives', async () => {
    const store = await setup();
    const key = tenantKey('t1', 'files', 'doc.bin');
    await store.put(key, Buffer.from('old version'), { contentType: 'text/plain' });
    const { stream } = bigStream(12 * 1024 * 1024, 2, 10 * 1024 * 1024);
    await expect(store.put(key, stream, { contentType: 'application/octet-stream' })).rejects.toThrow(/half-way/);
    expect((await readAll(await store.get(key))).toString()).toBe('old version');
    const other = tenantKey('t1', 'files', 'new.bin');
    const { stream: failing } = bigStream(3 * 1024 * 1024, 3, 1024 * 1024);
    await expect(store.put(other, failing, { contentType: 'application/octet-stream' })).rejects.toThrow(/half-way/);
    expect(await store.head(other)).toBeUndefined();
    expect((await listAll(store, tenantPrefix('t1'))).map((o) => o.key)).toEqual([key]);
  });

  it('checks keys and prefixes again at its boundary', async () => {
    const store = await setup();
    const bad = ['../etc/passwd', 'tenants/t1/../t2/x', '/tenants/t1/x', 'tenants/t1', 'tenants/t1/a\\b'];
    for (const raw of bad) {
      await expect(store.put(raw as ObjectKey, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(store.get(raw as ObjectKey)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(listAll(store, 'tenants/' as ObjectPrefix)).rejects.toBeInstanceOf(ValidationError);
    await expect(listAll(store, 'tenants/t1' as ObjectPrefix)).rejects.toBeInstanceOf(ValidationError);
  });

  it('reports itself ready', async () => {
    const store = await setup();
    await expect(store.check()).resolves.toBeUndefined();
  });
});
