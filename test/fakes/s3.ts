/**
 * A fake S3 server for tests: a real HTTP server on 127.0.0.1 speaking the path-style subset
 * of the S3 REST API that the `minio` client (v8) uses — HeadBucket, CreateBucket,
 * GetBucketLocation, ListObjectsV2, PutObject, GetObject (with Range), HeadObject,
 * DeleteObject and the multipart calls (CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads, ListParts) — with S3's
 * status codes and XML error bodies. Every request must carry a valid AWS SigV4 header
 * signature for the fake's one access key, and its payload must match the signed hash and
 * Content-MD5. Faults can be queued: an S3 error (503 SlowDown…) or a dropped connection.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LoopbackServer, listenLoopback, readBody } from './http-util.js';
import { type Bucket, createOperations, type FakeS3Object, operationOf, type Reply, S3Fail } from './s3-ops.js';
import { checkPayload, checkSignature } from './s3-sigv4.js';
import { errorXml } from './s3-xml.js';

export type { FakeS3Object } from './s3-ops.js';

/** One request as the fake saw it. */
export interface FakeS3Request {
  method: string;
  /** The S3 operation it was read as (e.g. PutObject, UploadPart), or `Unknown`. */
  op: string;
  bucket: string | undefined;
  key: string | undefined;
  status: number;
}

/**
 * A queued fault: an S3 error answer, `drop` (the connection is destroyed unanswered) or
 * `hang` (the request is read and never answered; the connection stays open until the
 * client gives up or the fake closes).
 */
export type FakeS3Fault = { status: number; code: string; message?: string } | 'drop' | 'hang';

/** Options of startFakeS3. */
export interface FakeS3Options {
  accessKey?: string;
  secretKey?: string;
  region?: string;
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Largest page ListObjectsV2 returns whatever max-keys asks (to exercise pagination). */
  maxKeysPerPage?: number;
}

/** Handle on a running fake S3 server. */
export interface FakeS3 {
  /** `http://127.0.0.1:PORT` (pass as S3_ENDPOINT). */
  url: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Every request answered (or dropped), in order. */
  requests: FakeS3Request[];
  /** Bucket names, sorted. */
  bucketNames(): string[];
  /** The keys of a bucket, sorted. */
  keys(bucket: string): string[];
  object(bucket: string, key: string): FakeS3Object | undefined;
  /** Multipart uploads still open in a bucket. */
  openUploads(bucket: string): { key: string; uploadId: string; parts: number[] }[];
  /** Answers the next `count` requests (of operation `op` when given) with a fault. */
  failNext(fault: FakeS3Fault, opts?: { count?: number; op?: string }): void;
  close(): Promise<void>;
}

/** Starts a fake S3 server on an ephemeral loopback port. */
export async function startFakeS3(opts: FakeS3Options = {}): Promise<FakeS3> {
  const creds = {
    accessKey: opts.accessKey ?? 'anvil-test-access',
    secretKey: opts.secretKey ?? 'anvil-test-secret-0123456789',
    region: opts.region ?? 'us-east-1',
  };
  const buckets = new Map<string, Bucket>();
  for (const name of opts.buckets ?? [])
    buckets.set(name, { created: new Date(), objects: new Map(), uploads: new Map() });
  const requests: FakeS3Request[] = [];
  const faults: { fault: FakeS3Fault; remaining: number; op?: string }[] = [];
  const handlers = createOperations(buckets, creds.region, opts.maxKeysPerPage ?? 1000);

  const takeFault = (op: string): FakeS3Fault | undefined => {
    const f = faults.find((x) => x.remaining > 0 && (!x.op || x.op === op));
    if (!f) return undefined;
    if (--f.remaining === 0) faults.splice(faults.indexOf(f), 1);
    return f.fault;
  };

  const send = (res: ServerResponse, req: IncomingMessage, reply: Reply, requestId: string): void => {
    const body =
      reply.body === undefined ? undefined : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
    const headers: Record<string, string | number> = {
      'x-amz-request-id': requestId,
      'x-amz-id-2': randomBytes(12).toString('base64'),
      server: 'FakeS3',
      ...reply.headers,
    };
    if (body && !headers['content-type']) headers['content-type'] = 'application/xml';
    headers['content-length'] ??= body?.length ?? 0;
    res.writeHead(reply.status, headers);
    // HEAD answers carry headers only, as S3's do (errors included).
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // The raw path, not url.pathname: WHATWG URLs resolve `..`, S3 keeps it as part of the key.
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const [, rawBucket, ...rest] = rawPath.split('/');
    const bucket = rawBucket ? decodeURIComponent(rawBucket) : undefined;
    const key = rest.length > 0 && rest.join('/') !== '' ? decodeURIComponent(rest.join('/')) : undefined;
    const method = req.method ?? 'GET';
    const op = operationOf(method, bucket, key, url.searchParams);
    const record: FakeS3Request = { method, op, bucket, key, status: 0 };
    requests.push(record);
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const resource = rawPath;
    const fail = (f: { status: number; code: string; message: string; extra?: Record<string, string> }) => {
      record.status = f.status;
      send(res, req, { status: f.status, body: errorXml(f.code, f.message, resource, requestId, f.extra) }, requestId);
    };

    const fault = takeFault(op);
    if (fault === 'drop') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      record.status = -1;
      req.resume();
      return;
    }
    const body = await readBody(req, 1024 * 1024 * 1024);
    if (fault) return fail({ status: fault.status, code: fault.code, message: fault.message ?? fault.code });
    // Like S3's global endpoint, bucket discovery may be signed for us-east-1 from any region
    // (minio-js signs GetBucketLocation that way).
    const global = op === 'GetBucketLocation' || op === 'ListBuckets';
    const signedFor =
      global && req.headers.authorization?.includes('/us-east-1/') ? { ...creds, region: 'us-east-1' } : creds;
    const authProblem = checkSignature(req, signedFor) ?? checkPayload(req, body);
    if (authProblem) return fail(authProblem);
    const handler = handlers[op];
    if (!handler) {
      return fail({
        status: 501,
        code: 'NotImplemented',
        message: `${method} ${url.pathname}${url.search} is not implemented by the fake`,
      });
    }
    try {
      const reply = handler({ req, body, bucket: bucket ?? '', key: key ?? '', q: url.searchParams });
      record.status = reply.status;
      send(res, req, reply, requestId);
    } catch (err) {
      if (!(err instanceof S3Fail)) throw err;
      fail({ status: err.status, code: err.code, message: err.message, extra: err.extra });
    }
  };

  const server: LoopbackServer = await listenLoopback(handle);
  return {
    url: server.url,
    ...creds,
    requests,
    bucketNames: () => [...buckets.keys()].sort(),
    keys: (name) =>
      [...(buckets.get(name)?.objects.keys() ?? [])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
    object: (name, key) => buckets.get(name)?.objects.get(key),
    openUploads: (name) =>
      [...(buckets.get(name)?.uploads.values() ?? [])].map((u) => ({
        key: u.key,
        uploadId: u.id,
        parts: [...u.parts.keys()].sort((a, b) => a - b),
      })),
    failNext(fault, o = {}) {
      faults.push({ fault, remaining: o.count ?? 1, op: o.op });
    },
    close: () => server.close(),
  };
}
