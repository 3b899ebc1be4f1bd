import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../../core/errors.js';
import { FsObjectStore } from '../../../core/storage/fs.js';
import { createObjectStore, objectsDir } from '../../../core/storage/index.js';
import { tenantKey, tenantPrefix } from '../../../core/storage/object-store.js';
import { S3ObjectStore } from '../../../core/storage/s3.js';
import { testConfig } from '../../helpers/config.js';
import { bigStream, fsStore, listAll, readAll, type StoreUnderTest } from './helpers.js';

let current: StoreUnderTest | undefined;
const setup = () => {
  current = fsStore();
  return { store: current.store as FsObjectStore, dir: current.dir as string };
};
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

const filesIn = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

describe('the embedded (fs) object store', () => {
  it('lays objects out as folders with a metadata sidecar beside each', async () => {
    const { store } = setup();
    const key = tenantKey('t1', 'files', '2026-11', 'abc-report.pdf');
    const put = await store.put(key, Buffer.from('%PDF-1.7'), { contentType: 'application/pdf' });
    const dir = path.join(store.root, 'tenants', 't1', 'files', '2026-11');
    expect(filesIn(dir)).toEqual(['.abc-report.pdf.meta.json', 'abc-report.pdf']);
    expect(readFileSync(path.join(dir, 'abc-report.pdf'), 'utf8')).toBe('%PDF-1.7');
    expect(JSON.parse(readFileSync(path.join(dir, '.abc-report.pdf.meta.json'), 'utf8'))).toEqual({
      contentType: 'application/pdf',
      size: 8,
      sha256: put.sha256,
    });
  });

  it('never shows a half-written object while a put is under way', async () => {
    const { store } = setup();
    const key = tenantKey('t1', 'files', 'slow.bin');
    const body = new PassThrough();
    const pending = store.put(key, body, { contentType: 'application/octet-stream' });
    body.write(Buffer.alloc(1024 * 1024, 1));
    const dir = path.join(store.root, 'tenants', 't1', 'files');
    // Wait until the bytes are on disk in the temporary file.
    for (let i = 0; i < 200 && !filesIn(dir).some((f) => f.startsWith('.tmp-')); i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(filesIn(dir).some((f) => f.startsWith('.tmp-'))).toBe(true);
    expect(await store.head(key)).toBeUndefined();
    await expect(store.get(key)).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(store, tenantPrefix('t1'))).toEqual([]);
    body.end(Buffer.alloc(10, 2));
    await pending;
    expect((await store.head(key))?.size).toBe(1024 * 1024 + 10);
  });

  it('leaves no temporary file and no object after a body that fails mid-write', async () => {
    const { store } = setup();
    const key = tenantKey('t1', 'files', 'broken.bin');
    await store.put(tenantKey('t1', 'files', 'kept.txt'), Buffer.from('kept'), { contentType: 'text/plain' });
    const { stream } = bigStream(6 * 1024 * 1024, 4, 3 * 1024 * 1024);
    await expect(store.put(key, stream, { contentType: 'application/octet-stream' })).rejects.toThrow(/half-way/);
    expect(filesIn(path.join(store.root, 'tenants', 't1', 'files'))).toEqual(['.kept.txt.meta.json', 'kept.txt']);
  });

  it('refuses a key that would need an object to be a folder too', async () => {
    const { store } = setup();
    await store.put(tenantKey('t1', 'a'), Buffer.from('file'), { contentType: 'text/plain' });
    await expect(
      store.put(tenantKey('t1', 'a', 'b'), Buffer.from('x'), { contentType: 'text/plain' }),
    ).rejects.toBeInstanceOf(ConflictError);
    await store.put(tenantKey('t1', 'dir', 'x'), Buffer.from('x'), { contentType: 'text/plain' });
    await expect(
      store.put(tenantKey('t1', 'dir'), Buffer.from('x'), { contentType: 'text/plain' }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await store.head(tenantKey('t1', 'dir'))).toBeUndefined();
    await expect(store.get(tenantKey('t1', 'dir'))).rejects.toBeInstanceOf(NotFoundError);
    expect((await readAll(await store.get(tenantKey('t1', 'a')))).toString()).toBe('file');
  });

  it('does not list files it did not write (dot files, stray temporaries)', async () => {
    const { store } = setup();
    await store.put(tenantKey('t1', 'x.txt'), Buffer.from('x'), { contentType: 'text/plain' });
    writeFileSync(path.join(store.root, 'tenants', 't1', '.tmp-deadbeef'), 'partial');
    expect((await listAll(store, tenantPrefix('t1'))).map((o) => o.key)).toEqual(['tenants/t1/x.txt']);
  });

  it('fails its readiness check when the folder cannot be made', async () => {
    const { dir } = setup();
    writeFileSync(path.join(dir, 'not-a-dir'), '');
    await expect(new FsObjectStore(path.join(dir, 'not-a-dir', 'objects')).check()).rejects.toThrow();
  });
});

describe('createObjectStore', () => {
  it('uses the data folder without S3_ENDPOINT and S3 with it', () => {
    const { dir } = setup();
    const local = createObjectStore(testConfig(dir));
    expect(local).toBeInstanceOf(FsObjectStore);
    expect((local as FsObjectStore).root).toBe(objectsDir(dir));
    const remote = createObjectStore(
      testConfig(dir, { S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's', S3_BUCKET: 'files' }),
    );
    expect(remote).toBeInstanceOf(S3ObjectStore);
    expect(remote.kind).toBe('s3');
    expect((remote as S3ObjectStore).bucket).toBe('files');
    expect(() =>
      createObjectStore(
        testConfig(dir, { S3_ENDPOINT: 'http://minio:9000/sub', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' }),
      ),
    ).toThrow(/S3_ENDPOINT/);
  });
});
