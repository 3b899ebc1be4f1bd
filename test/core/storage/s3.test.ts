import { Client, S3Error } from 'minio';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, UpstreamRefusedError, UpstreamUnavailableError } from '../../../core/errors.js';
import { tenantKey, tenantPrefix } from '../../../core/storage/object-store.js';
import { S3ObjectStore, toAnvilError } from '../../../core/storage/s3.js';
import { startFakeS3 } from '../../fakes/s3.js';
import { bigStream, listAll, readAll, type StoreUnderTest, s3Store } from './helpers.js';

let current: StoreUnderTest | undefined;
const setup = async (over: Parameters<typeof s3Store>[0] = {}) => {
  current = await s3Store(over);
  return { store: current.store as S3ObjectStore, s3: current.s3! };
};
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

const key = tenantKey('t1', 'files', '2026-11', 'abc-report.pdf');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('the S3 object store (against the fake S3)', () => {
  it('creates its bucket once, then keeps objects under tenants/<id>/ with their content type', async () => {
    const { store, s3 } = await setup();
    await store.check();
    await store.put(key, Buffer.from('%PDF'), { contentType: 'application/pdf' });
    await store.put(tenantKey('t1', 'b.txt'), Buffer.from('b'), { contentType: 'text/plain' });
    expect(s3.bucketNames()).toEqual(['anvil']);
    expect(s3.requests.filter((r) => r.op === 'CreateBucket')).toHaveLength(1);
    expect(s3.keys('anvil')).toEqual(['tenants/t1/b.txt', key]);
    expect(s3.object('anvil', key)?.contentType).toBe('application/pdf');
  });

  it('uses a bucket that already exists without creating it', async () => {
    const s3 = await startFakeS3({ buckets: ['anvil'] });
    current = { store: undefined as never, s3, cleanup: () => s3.close() };
    const store = new S3ObjectStore({
      endpoint: s3.url,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      bucket: 'anvil',
      region: s3.region,
    });
    await store.put(key, Buffer.from('x'), { contentType: 'text/plain' });
    expect(s3.requests.map((r) => r.op)).toEqual(['HeadBucket', 'PutObject']);
  });

  it('sends large bodies as a multipart upload and aborts one whose source fails', async () => {
    const { store, s3 } = await setup();
    const { stream } = bigStream(20 * 1024 * 1024);
    await store.put(key, stream, { contentType: 'application/octet-stream' });
    expect(s3.requests.map((r) => r.op)).toEqual(
      expect.arrayContaining(['CreateMultipartUpload', 'CompleteMultipartUpload']),
    );
    const { stream: failing } = bigStream(20 * 1024 * 1024, 5, 12 * 1024 * 1024);
    await expect(
      store.put(tenantKey('t1', 'x.bin'), failing, { contentType: 'application/octet-stream' }),
    ).rejects.toThrow(/half-way/);
    expect(s3.requests.map((r) => r.op)).toContain('AbortMultipartUpload');
    expect(s3.openUploads('anvil')).toEqual([]);
    expect(s3.keys('anvil')).toEqual([key]);
  });

  it('answers NotFoundError for a missing object and undefined from head', async () => {
    const { store } = await setup();
    await expect(store.get(key)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.head(key)).toBeUndefined();
  });

  it('skips keys in the bucket that Anvil could not have written', async () => {
    const { store, s3 } = await setup();
    await store.put(key, Buffer.from('x'), { contentType: 'text/plain' });
    // Someone with the bucket's credentials planted a key that climbs out of t1's prefix.
    const url = new URL(s3.url);
    const raw = new Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
    });
    await raw.putObject('anvil', 'tenants/t1/../t2/secret', Buffer.from('s'));
    expect((await listAll(store, tenantPrefix('t1'))).map((o) => o.key)).toEqual([key]);
  });

  it('maps bad credentials to UpstreamRefusedError', async () => {
    for (const creds of [{ accessKey: 'intruder' }, { secretKey: 'wrong-secret' }]) {
      const { store } = await setup(creds);
      const err = await rejection(store.put(key, Buffer.from('x'), { contentType: 'text/plain' }));
      expect(err).toBeInstanceOf(UpstreamRefusedError);
      expect(err).toMatchObject({ service: 'S3', upstreamStatus: 403 });
      await expect(store.check()).rejects.toBeInstanceOf(UpstreamRefusedError);
      await current?.cleanup();
    }
    current = undefined;
  });

  it('maps an unreachable server to UpstreamUnavailableError', async () => {
    const gone = await startFakeS3();
    await gone.close();
    const store = new S3ObjectStore({
      endpoint: gone.url,
      accessKey: gone.accessKey,
      secretKey: gone.secretKey,
      bucket: 'anvil',
      region: gone.region,
      retryDelayMs: 1,
    });
    for (const p of [store.check(), store.put(key, Buffer.from('x'), { contentType: 'text/plain' }), store.get(key)]) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect((err as Error).message).toMatch(/S3 is unavailable: .*ECONNREFUSED/);
    }
  });

  it('retries once after 503 SlowDown or a dropped connection, then gives up as unavailable', async () => {
    const { store, s3 } = await setup();
    await store.check();
    s3.failNext({ status: 503, code: 'SlowDown' }, { op: 'PutObject' });
    await store.put(key, Buffer.from('first'), { contentType: 'text/plain' });
    expect((await readAll(await store.get(key))).toString()).toBe('first');
    s3.failNext({ status: 503, code: 'SlowDown' }, { op: 'PutObject', count: 2 });
    await expect(store.put(key, Buffer.from('second'), { contentType: 'text/plain' })).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    s3.failNext('drop', { op: 'GetObject', count: 2 });
    await expect(store.get(key)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    s3.failNext('drop', { op: 'HeadObject' });
    expect(await store.head(key)).toEqual({ size: 5, contentType: 'text/plain' });
  });

  it('gives up on a server that does not answer, as unavailable, after one retry', async () => {
    const { store, s3 } = await setup({ timeoutMs: 300 });
    await store.put(key, Buffer.from('kept'), { contentType: 'text/plain' });
    // A connection that idles past the limit between requests is not an error.
    await new Promise((r) => setTimeout(r, 400));
    expect((await readAll(await store.get(key))).toString()).toBe('kept');
    for (const [op, call] of [
      ['PutObject', () => store.put(key, Buffer.from('x'), { contentType: 'text/plain' })],
      ['GetObject', () => store.get(key)],
      ['HeadObject', () => store.head(key)],
    ] as const) {
      s3.failNext('hang', { op, count: 2 });
      const started = Date.now();
      const err = await rejection(call());
      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect((err as Error).message).toMatch(new RegExp(`${op}: ETIMEDOUT no answer for 0.3 s`));
      // Two attempts of 300 ms each (and a short backoff), not a hang.
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    // Once it answers again, so does the store.
    expect((await readAll(await store.get(key))).toString()).toBe('kept');
  });

  it('gives no refusal a second chance', async () => {
    const { store, s3 } = await setup();
    await store.check();
    s3.failNext({ status: 403, code: 'AccessDenied', message: 'Access Denied.' }, { op: 'PutObject' });
    await expect(store.put(key, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toBeInstanceOf(
      UpstreamRefusedError,
    );
    expect(s3.requests.filter((r) => r.op === 'PutObject')).toHaveLength(1);
  });
});

describe('toAnvilError', () => {
  const s3Error = (code: string) => Object.assign(new S3Error('message from S3'), { code });

  it('tells refusals, missing objects and outages apart', () => {
    expect(toAnvilError(s3Error('NoSuchKey'), 'GetObject')).toBeInstanceOf(NotFoundError);
    expect(toAnvilError(s3Error('NotFound'), 'HeadObject')).toBeInstanceOf(NotFoundError);
    expect(toAnvilError(s3Error('SignatureDoesNotMatch'), 'PutObject')).toMatchObject({
      name: 'UpstreamRefusedError',
      upstreamStatus: 403,
    });
    expect(toAnvilError(s3Error('NoSuchBucket'), 'PutObject')).toMatchObject({
      name: 'UpstreamRefusedError',
      upstreamStatus: 404,
    });
    expect(toAnvilError(s3Error('InternalError'), 'CompleteMultipartUpload')).toBeInstanceOf(UpstreamUnavailableError);
    expect(toAnvilError(s3Error('SlowDown'), 'PutObject')).toBeInstanceOf(UpstreamUnavailableError);
    const retried = toAnvilError(
      new Error('Request failed after 0 retries: Error: Retryable HTTP status: 503'),
      'PutObject',
    );
    expect(retried).toBeInstanceOf(UpstreamUnavailableError);
    expect(retried.message).toBe('S3 is unavailable: PutObject: HTTP 503');
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(toAnvilError(reset, 'GetObject').message).toBe('S3 is unavailable: GetObject: ECONNRESET socket hang up');
  });
});
