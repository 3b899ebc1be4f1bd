import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { Client, S3Error } from 'minio';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeS3, type FakeS3Options, startFakeS3 } from '../fakes/s3.js';

const started: FakeS3[] = [];
async function fake(opts: FakeS3Options = {}): Promise<FakeS3> {
  const f = await startFakeS3(opts);
  started.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((f) => f.close()));
});

type ClientOpts = ConstructorParameters<typeof Client>[0];

function clientFor(f: FakeS3, over: Partial<ClientOpts> = {}): Client {
  const url = new URL(f.url);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: f.accessKey,
    secretKey: f.secretKey,
    region: f.region,
    retryOptions: { disableRetry: true },
    ...over,
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function s3Error(p: Promise<unknown>): Promise<S3Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof S3Error)) throw new Error(`expected an S3Error, got ${String(err)}`);
  return err;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('fake S3 through the real minio client', () => {
  it('creates a bucket once and says so the second time', async () => {
    const f = await fake();
    const c = clientFor(f);
    expect(await c.bucketExists('anvil')).toBe(false);
    await c.makeBucket('anvil', f.region);
    expect(await c.bucketExists('anvil')).toBe(true);
    expect((await s3Error(c.makeBucket('anvil', f.region))).code).toBe('BucketAlreadyOwnedByYou');
    expect(f.bucketNames()).toEqual(['anvil']);
  });

  it('stores, stats and returns binary objects under awkward keys', async () => {
    const f = await fake({ buckets: ['anvil'] });
    const c = clientFor(f);
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const key = 'tenants/t1/files/ünïcode a+b (1)%.bin';
    const put = await c.putObject('anvil', key, body, body.length, { 'Content-Type': 'application/pdf' });
    expect(put.etag).toBe(md5(body));
    const stat = await c.statObject('anvil', key);
    expect(stat).toMatchObject({ size: 256, etag: md5(body) });
    expect(stat.metaData['content-type']).toBe('application/pdf');
    expect((await readAll(await c.getObject('anvil', key))).equals(body)).toBe(true);
    expect(await readAll(await c.getPartialObject('anvil', key, 2, 3))).toEqual(Buffer.from([2, 3, 4]));
    expect(f.object('anvil', key)?.body.equals(body)).toBe(true);
  });

  it('keeps `..` in a key literally, as S3 does (no path resolution)', async () => {
    const f = await fake({ buckets: ['anvil'] });
    const c = clientFor(f);
    await c.putObject('anvil', 'tenants/t1/../t2/x', Buffer.from('x'));
    expect(f.keys('anvil')).toEqual(['tenants/t1/../t2/x']);
  });

  it('answers NoSuchKey on GET and a bodiless 404 (NotFound) on HEAD', async () => {
    const f = await fake({ buckets: ['anvil'] });
    const c = clientFor(f);
    expect((await s3Error(c.getObject('anvil', 'tenants/t1/nope'))).code).toBe('NoSuchKey');
    expect((await s3Error(c.statObject('anvil', 'tenants/t1/nope'))).code).toBe('NotFound');
    expect((await s3Error(c.getObject('other', 'x'))).code).toBe('NoSuchBucket');
    await c.removeObject('anvil', 'tenants/t1/nope'); // deleting nothing is fine, as on S3
    expect(f.requests.at(-1)).toMatchObject({ op: 'DeleteObject', status: 204 });
  });

  it('lists with ListObjectsV2 across pages, decoding url-encoded keys', async () => {
    const f = await fake({ buckets: ['anvil'], maxKeysPerPage: 2 });
    const c = clientFor(f);
    const keys = ['tenants/a/x 1', 'tenants/a/x+2', 'tenants/a/sub/y', 'tenants/a/z', 'tenants/ab/q'];
    for (const k of keys) await c.putObject('anvil', k, Buffer.from(k));
    const listed: { name?: string; size: number }[] = [];
    for await (const o of c.listObjectsV2('anvil', 'tenants/a/', true))
      listed.push(o as { name?: string; size: number });
    expect(listed.map((o) => o.name)).toEqual(['tenants/a/sub/y', 'tenants/a/x 1', 'tenants/a/x+2', 'tenants/a/z']);
    expect(listed[1]?.size).toBe(Buffer.byteLength('tenants/a/x 1'));
    expect(f.requests.filter((r) => r.op === 'ListObjectsV2').length).toBe(2);
    const shallow: { name?: string; prefix?: string }[] = [];
    for await (const o of c.listObjectsV2('anvil', 'tenants/a/', false)) shallow.push(o as { prefix?: string });
    // minio-js puts a page's objects before its common prefixes.
    expect(shallow.map((o) => o.name ?? o.prefix).sort()).toEqual([
      'tenants/a/sub/',
      'tenants/a/x 1',
      'tenants/a/x+2',
      'tenants/a/z',
    ]);
  });

  it('takes a multipart upload from a known-size stream and joins the parts in order', async () => {
    const f = await fake({ buckets: ['anvil'] });
    const c = clientFor(f, { partSize: 5 * 1024 * 1024 });
    const body = randomBytes(12 * 1024 * 1024);
    const res = await c.putObject(
      'anvil',
      'tenants/t1/big.bin',
      Readable.from([body.subarray(0, 7e6), body.subarray(7e6)]),
      body.length,
    );
    const ops = f.requests.map((r) => r.op);
    expect(ops).toContain('ListMultipartUploads'); // minio-js looks for an upload to resume first
    const parts = ops.filter((o) => o === 'UploadPart').length;
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(ops.at(-1)).toBe('CompleteMultipartUpload');
    expect(res.etag).toMatch(new RegExp(`^[0-9a-f]{32}-${parts}$`));
    expect(f.object('anvil', 'tenants/t1/big.bin')?.body.equals(body)).toBe(true);
    expect(f.openUploads('anvil')).toEqual([]);
  });

  it('refuses to complete an upload with no parts (minio-js 8.0.7 does that for an empty stream of unknown size)', async () => {
    const f = await fake({ buckets: ['anvil'] });
    const c = clientFor(f);
    const err = await s3Error(c.putObject('anvil', 'tenants/t1/empty', Readable.from([])));
    expect(err.code).toBe('MalformedXML');
  });

  it('finds the region with GetBucketLocation when the client is not told it', async () => {
    const f = await fake({ buckets: ['anvil'], region: 'eu-central-1' });
    const c = clientFor(f, { region: undefined });
    await c.putObject('anvil', 'tenants/t1/a', Buffer.from('a'));
    expect(f.requests[0]?.op).toBe('GetBucketLocation');
    expect(f.requests[1]).toMatchObject({ op: 'PutObject', status: 200 });
  });

  it('refuses unknown access keys, wrong secrets and unsigned requests', async () => {
    const f = await fake({ buckets: ['anvil'] });
    expect((await s3Error(clientFor(f, { accessKey: 'intruder' }).getObject('anvil', 'k'))).code).toBe(
      'InvalidAccessKeyId',
    );
    expect((await s3Error(clientFor(f, { secretKey: 'wrong-secret' }).getObject('anvil', 'k'))).code).toBe(
      'SignatureDoesNotMatch',
    );
    // HEAD answers have no body: the client only sees the 403.
    expect((await s3Error(clientFor(f, { secretKey: 'wrong-secret' }).statObject('anvil', 'k'))).code).toBe(
      'AccessDenied',
    );
    const raw = await fetch(`${f.url}/anvil/k`);
    expect(raw.status).toBe(403);
    expect(await raw.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('checks the body against the signed payload hash', async () => {
    const f = await fake({ buckets: ['anvil'] });
    // A transport that flips a byte of the body after it was signed.
    const transport = {
      request(opts: http.RequestOptions, cb: (res: http.IncomingMessage) => void) {
        const req = http.request(opts, cb);
        const end = req.end.bind(req) as (chunk?: unknown) => http.ClientRequest;
        req.end = ((chunk?: unknown) => {
          if (Buffer.isBuffer(chunk) && chunk.length > 0)
            chunk = Buffer.concat([chunk.subarray(0, -1), Buffer.from('!')]);
          return end(chunk);
        }) as typeof req.end;
        return req;
      },
    };
    const c = clientFor(f, { transport: transport as unknown as ClientOpts['transport'] });
    const err = await s3Error(c.putObject('anvil', 'tenants/t1/k', Buffer.from('hello')));
    expect(err.code).toBe('XAmzContentSHA256Mismatch');
    expect(f.keys('anvil')).toEqual([]);
  });

  it('injects 503 SlowDown and dropped connections', async () => {
    const f = await fake({ buckets: ['anvil'] });
    const c = clientFor(f);
    f.failNext({ status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }, { op: 'PutObject' });
    // minio-js 8.0.7 turns 408/429/5xx into a plain Error (its retry loop), even with retries off.
    await expect(c.putObject('anvil', 'tenants/t1/k', Buffer.from('x'))).rejects.toThrow(/Retryable HTTP status: 503/);
    f.failNext({ status: 403, code: 'AccessDenied', message: 'Access Denied.' }, { op: 'PutObject' });
    expect((await s3Error(c.putObject('anvil', 'tenants/t1/k', Buffer.from('x')))).code).toBe('AccessDenied');
    f.failNext('drop');
    const dropped = await c.getObject('anvil', 'tenants/t1/k').then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(dropped?.code ?? dropped?.message).toMatch(/ECONNRESET|socket hang up/);
    await c.putObject('anvil', 'tenants/t1/k', Buffer.from('x'));
    expect(f.keys('anvil')).toEqual(['tenants/t1/k']);
  });
});
