/**
 * The operations of the fake S3 server: its buckets, objects and multipart uploads, and one
 * handler per S3 operation answering as S3 does (status, headers, XML). Routing, signature
 * checks and faults live in s3.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  completeXml,
  initiateXml,
  type ListedEntry,
  listBucketsXml,
  listObjectsV2Xml,
  listPartsXml,
  listUploadsXml,
  locationXml,
  parseCompleteBody,
} from './s3-xml.js';

/** An object as the fake holds it. */
export interface FakeS3Object {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
  /** `x-amz-meta-*` headers, without the prefix. */
  meta: Record<string, string>;
}

export interface Part {
  body: Buffer;
  etag: string;
  lastModified: Date;
}

export interface Upload {
  id: string;
  key: string;
  initiated: Date;
  contentType: string;
  meta: Record<string, string>;
  parts: Map<number, Part>;
}

export interface Bucket {
  created: Date;
  objects: Map<string, FakeS3Object>;
  uploads: Map<string, Upload>;
}

const MIN_PART = 5 * 1024 * 1024;
const MAX_PUT = 5 * 1024 * 1024 * 1024;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An S3 error answer. */
export class S3Fail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const md5Hex = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function metaHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('x-amz-meta-') && typeof v === 'string') out[k.slice('x-amz-meta-'.length)] = v;
  }
  return out;
}

/** Reads the operation from method, path and query. */
export function operationOf(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  q: URLSearchParams,
): string {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';
  if (key === undefined) {
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'PUT' && [...q.keys()].length === 0) return 'CreateBucket';
    if (method === 'DELETE' && [...q.keys()].length === 0) return 'DeleteBucket';
    if (method === 'GET' && q.has('location')) return 'GetBucketLocation';
    if (method === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2';
    if (method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
    return 'Unknown';
  }
  if (method === 'PUT' && q.has('partNumber') && q.has('uploadId')) return 'UploadPart';
  if (method === 'PUT') return 'PutObject';
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'DELETE') return 'DeleteObject';
  if (method === 'GET' && q.has('uploadId')) return 'ListParts';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return 'Unknown';
}

/** What a handler answers. */
export type Reply = { status: number; headers?: Record<string, string | number>; body?: Buffer | string };

/** What a handler gets. */
export interface OpContext {
  req: IncomingMessage;
  body: Buffer;
  bucket: string;
  key: string;
  q: URLSearchParams;
}

/** The handler of each operation over the given buckets. */
export function createOperations(
  buckets: Map<string, Bucket>,
  region: string,
  pageCap: number,
): Record<string, (ctx: OpContext) => Reply> {
  const bucketOf = (name: string): Bucket => {
    const b = buckets.get(name);
    if (!b) throw new S3Fail(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return b;
  };

  const uploadOf = (b: Bucket, q: URLSearchParams, key: string): Upload => {
    const u = b.uploads.get(q.get('uploadId') ?? '');
    if (!u || u.key !== key) {
      throw new S3Fail(
        404,
        'NoSuchUpload',
        'The specified multipart upload does not exist. The upload ID may be invalid.',
      );
    }
    return u;
  };

  const handlers: Record<string, (ctx: OpContext) => Reply> = {
    ListBuckets: () => ({
      status: 200,
      body: listBucketsXml(
        [...buckets].map(([name, b]) => ({ name, created: b.created })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      ),
    }),
    HeadBucket: ({ bucket }) => {
      if (!buckets.has(bucket)) return { status: 404 };
      return { status: 200, headers: { 'x-amz-bucket-region': region } };
    },
    CreateBucket: ({ bucket, body }) => {
      if (!BUCKET_NAME.test(bucket)) throw new S3Fail(400, 'InvalidBucketName', 'The specified bucket is not valid.');
      if (buckets.has(bucket)) {
        throw new S3Fail(
          409,
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
        );
      }
      const wanted = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body.toString())?.[1];
      if (wanted !== undefined && wanted !== region) {
        throw new S3Fail(
          400,
          'IllegalLocationConstraintException',
          `The ${wanted} location constraint is incompatible for the region specific endpoint this request was sent to.`,
        );
      }
      buckets.set(bucket, { created: new Date(), objects: new Map(), uploads: new Map() });
      return { status: 200, headers: { location: `/${bucket}` } };
    },
    DeleteBucket: ({ bucket }) => {
      if (bucketOf(bucket).objects.size > 0)
        throw new S3Fail(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty');
      buckets.delete(bucket);
      return { status: 204 };
    },
    GetBucketLocation: ({ bucket }) => {
      bucketOf(bucket);
      return { status: 200, body: locationXml(region) };
    },
    ListObjectsV2: ({ bucket, q }) => listV2(bucket, bucketOf(bucket), q),
    ListMultipartUploads: ({ bucket, q }) => {
      const prefix = q.get('prefix') ?? '';
      const list = [...bucketOf(bucket).uploads.values()]
        .filter((u) => u.key.startsWith(prefix))
        .map((u) => ({ key: u.key, uploadId: u.id, initiated: u.initiated }));
      return { status: 200, body: listUploadsXml(bucket, prefix, list) };
    },
    PutObject: ({ req, body, bucket, key }) => {
      const b = bucketOf(bucket);
      if (req.headers['x-amz-copy-source'])
        throw new S3Fail(501, 'NotImplemented', 'CopyObject is not implemented by the fake.');
      if (req.headers['content-length'] === undefined)
        throw new S3Fail(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
      if (body.length > MAX_PUT)
        throw new S3Fail(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
      const etag = md5Hex(body);
      b.objects.set(key, {
        body,
        contentType: req.headers['content-type'] ?? 'binary/octet-stream',
        etag,
        lastModified: new Date(),
        meta: metaHeaders(req),
      });
      return { status: 200, headers: { etag: `"${etag}"` } };
    },
    CreateMultipartUpload: ({ req, bucket, key }) => {
      const b = bucketOf(bucket);
      const id = randomBytes(16).toString('hex');
      b.uploads.set(id, {
        id,
        key,
        initiated: new Date(),
        contentType: req.headers['content-type'] ?? 'binary/octet-stream',
        meta: metaHeaders(req),
        parts: new Map(),
      });
      return { status: 200, body: initiateXml(bucket, key, id) };
    },
    UploadPart: ({ body, bucket, key, q }) => {
      const u = uploadOf(bucketOf(bucket), q, key);
      const n = Number(q.get('partNumber'));
      if (!Number.isInteger(n) || n < 1 || n > 10_000) {
        throw new S3Fail(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
      }
      const etag = md5Hex(body);
      u.parts.set(n, { body, etag, lastModified: new Date() });
      return { status: 200, headers: { etag: `"${etag}"` } };
    },
    CompleteMultipartUpload: ({ body, bucket, key, q }) => {
      const b = bucketOf(bucket);
      const u = uploadOf(b, q, key);
      const listed = parseCompleteBody(body.toString());
      if (!listed || listed.length === 0) {
        throw new S3Fail(
          400,
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema.',
        );
      }
      const chosen: Part[] = [];
      for (const [i, p] of listed.entries()) {
        if (i > 0 && p.number <= (listed[i - 1]?.number ?? 0)) {
          throw new S3Fail(
            400,
            'InvalidPartOrder',
            'The list of parts was not in ascending order. Parts must be ordered by part number.',
          );
        }
        const part = u.parts.get(p.number);
        if (!part || part.etag !== p.etag) {
          throw new S3Fail(
            400,
            'InvalidPart',
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          );
        }
        if (i < listed.length - 1 && part.body.length < MIN_PART) {
          throw new S3Fail(
            400,
            'EntityTooSmall',
            'Your proposed upload is smaller than the minimum allowed object size.',
          );
        }
        chosen.push(part);
      }
      const etag = `${md5Hex(Buffer.concat(chosen.map((p) => Buffer.from(p.etag, 'hex'))))}-${chosen.length}`;
      b.objects.set(key, {
        body: Buffer.concat(chosen.map((p) => p.body)),
        contentType: u.contentType,
        etag,
        lastModified: new Date(),
        meta: u.meta,
      });
      b.uploads.delete(u.id);
      return { status: 200, body: completeXml(`/${bucket}/${key}`, bucket, key, etag) };
    },
    AbortMultipartUpload: ({ bucket, key, q }) => {
      const b = bucketOf(bucket);
      b.uploads.delete(uploadOf(b, q, key).id);
      return { status: 204 };
    },
    ListParts: ({ bucket, key, q }) => {
      const u = uploadOf(bucketOf(bucket), q, key);
      const parts = [...u.parts]
        .sort(([a], [b]) => a - b)
        .map(([number, p]) => ({ number, etag: p.etag, size: p.body.length, lastModified: p.lastModified }));
      return { status: 200, body: listPartsXml(bucket, key, u.id, parts) };
    },
    GetObject: ({ req, bucket, key }) => {
      const o = bucketOf(bucket).objects.get(key);
      if (!o) throw new S3Fail(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      const headers = objectHeaders(o);
      const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
      if (!range || (range[1] === '' && range[2] === '')) return { status: 200, headers, body: o.body };
      const size = o.body.length;
      const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
      const end = range[1] === '' || range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start >= size || start > end) {
        throw new S3Fail(416, 'InvalidRange', 'The requested range is not satisfiable', {
          ActualObjectSize: String(size),
        });
      }
      return {
        status: 206,
        headers: { ...headers, 'content-range': `bytes ${start}-${end}/${size}` },
        body: o.body.subarray(start, end + 1),
      };
    },
    HeadObject: ({ bucket, key }) => {
      const o = bucketOf(bucket).objects.get(key);
      if (!o) return { status: 404 };
      return { status: 200, headers: { ...objectHeaders(o), 'content-length': o.body.length } };
    },
    DeleteObject: ({ bucket, key }) => {
      bucketOf(bucket).objects.delete(key);
      return { status: 204 };
    },
  };

  function objectHeaders(o: FakeS3Object): Record<string, string | number> {
    const headers: Record<string, string | number> = {
      'content-type': o.contentType,
      etag: `"${o.etag}"`,
      'last-modified': o.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
    };
    for (const [k, v] of Object.entries(o.meta)) headers[`x-amz-meta-${k}`] = v;
    return headers;
  }

  function listV2(name: string, b: Bucket, q: URLSearchParams): Reply {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = Math.min(Number(q.get('max-keys') ?? 1000) || 1000, 1000);
    const token = q.get('continuation-token') ?? '';
    const startAfter = q.get('start-after') ?? '';
    const after = token ? Buffer.from(token, 'base64url').toString() : startAfter;
    const keys = [...b.objects.keys()]
      .filter((k) => k.startsWith(prefix) && Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0)
      .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const contents: ListedEntry[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const k of keys) {
      const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      const common = cut >= 0 ? k.slice(0, cut + delimiter.length) : undefined;
      if (common && prefixes.at(-1) === common) continue;
      if (contents.length + prefixes.length >= Math.min(maxKeys, pageCap)) {
        truncated = true;
        break;
      }
      if (common) {
        prefixes.push(common);
        last = `${common}\u{10FFFF}`; // past every key under the common prefix
      } else {
        const o = b.objects.get(k) as FakeS3Object;
        contents.push({ key: k, lastModified: o.lastModified, etag: o.etag, size: o.body.length });
        last = k;
      }
    }
    const xml = listObjectsV2Xml({
      bucket: name,
      prefix,
      delimiter,
      maxKeys,
      encodeUrl: q.get('encoding-type') === 'url',
      startAfter,
      continuationToken: token,
      nextContinuationToken: truncated ? Buffer.from(last).toString('base64url') : undefined,
      contents,
      commonPrefixes: prefixes,
    });
    return { status: 200, body: xml };
  }

  return handlers;
}
