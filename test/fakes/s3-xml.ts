/**
 * The XML documents of the fake S3 server, shaped as in the Amazon S3 API reference
 * (namespace http://s3.amazonaws.com/doc/2006-03-01/): errors, ListAllMyBucketsResult,
 * LocationConstraint, ListBucketResult (V2), the multipart upload results.
 */

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const OWNER = '<ID>fake-s3-owner</ID><DisplayName>anvil-test</DisplayName>';

/** Escapes text for an XML element. */
export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** `<Name>text</Name>`, escaped. */
const el = (name: string, text: string | number | boolean): string => `<${name}>${xmlEscape(String(text))}</${name}>`;

/** S3's `encoding-type=url` form of a key: form-style (space as +), `/` kept. */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/** ISO time with milliseconds, as S3 writes LastModified and Initiated. */
export const isoTime = (d: Date): string => d.toISOString();

/** `<Error>` with Code, Message, Resource, RequestId and any extra elements. */
export function errorXml(
  code: string,
  message: string,
  resource: string,
  requestId: string,
  extra: Record<string, string> = {},
): string {
  const more = Object.entries(extra)
    .map(([k, v]) => el(k, v))
    .join('');
  return `${DECL}<Error>${el('Code', code)}${el('Message', message)}${more}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`;
}

/** GetBucketLocation: empty for us-east-1, as S3 answers. */
export function locationXml(region: string): string {
  const value = region === 'us-east-1' ? '' : xmlEscape(region);
  return `${DECL}<LocationConstraint xmlns="${NS}">${value}</LocationConstraint>`;
}

/** ListBuckets. */
export function listBucketsXml(buckets: { name: string; created: Date }[]): string {
  const items = buckets.map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', isoTime(b.created))}</Bucket>`);
  return `${DECL}<ListAllMyBucketsResult xmlns="${NS}"><Owner>${OWNER}</Owner><Buckets>${items.join('')}</Buckets></ListAllMyBucketsResult>`;
}

/** One object line of a listing. */
export interface ListedEntry {
  key: string;
  lastModified: Date;
  etag: string;
  size: number;
}

/** ListObjectsV2's ListBucketResult. */
export function listObjectsV2Xml(r: {
  bucket: string;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  encodeUrl: boolean;
  startAfter: string;
  continuationToken: string;
  nextContinuationToken: string | undefined;
  contents: ListedEntry[];
  commonPrefixes: string[];
}): string {
  const enc = (s: string) => (r.encodeUrl ? urlEncodeKey(s) : s);
  const parts = [
    el('Name', r.bucket),
    el('Prefix', enc(r.prefix)),
    el('KeyCount', r.contents.length + r.commonPrefixes.length),
    el('MaxKeys', r.maxKeys),
    r.delimiter ? el('Delimiter', enc(r.delimiter)) : '',
    el('IsTruncated', r.nextContinuationToken !== undefined),
    r.continuationToken ? el('ContinuationToken', r.continuationToken) : '',
    r.nextContinuationToken !== undefined ? el('NextContinuationToken', r.nextContinuationToken) : '',
    r.startAfter ? el('StartAfter', enc(r.startAfter)) : '',
    r.encodeUrl ? el('EncodingType', 'url') : '',
    ...r.contents.map(
      (c) =>
        `<Contents>${el('Key', enc(c.key))}${el('LastModified', isoTime(c.lastModified))}${el('ETag', `"${c.etag}"`)}${el('Size', c.size)}${el('StorageClass', 'STANDARD')}</Contents>`,
    ),
    ...r.commonPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`),
  ];
  return `${DECL}<ListBucketResult xmlns="${NS}">${parts.join('')}</ListBucketResult>`;
}

/** CreateMultipartUpload's answer. */
export function initiateXml(bucket: string, key: string, uploadId: string): string {
  return `${DECL}<InitiateMultipartUploadResult xmlns="${NS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', uploadId)}</InitiateMultipartUploadResult>`;
}

/** CompleteMultipartUpload's answer. */
export function completeXml(location: string, bucket: string, key: string, etag: string): string {
  return `${DECL}<CompleteMultipartUploadResult xmlns="${NS}">${el('Location', location)}${el('Bucket', bucket)}${el('Key', key)}${el('ETag', `"${etag}"`)}</CompleteMultipartUploadResult>`;
}

/** ListMultipartUploads (no pagination: the fake holds few uploads). */
export function listUploadsXml(
  bucket: string,
  prefix: string,
  uploads: { key: string; uploadId: string; initiated: Date }[],
): string {
  const items = uploads.map(
    (u) =>
      `<Upload>${el('Key', u.key)}${el('UploadId', u.uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>${el('StorageClass', 'STANDARD')}${el('Initiated', isoTime(u.initiated))}</Upload>`,
  );
  return `${DECL}<ListMultipartUploadsResult xmlns="${NS}">${el('Bucket', bucket)}<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker>${el('Prefix', prefix)}${el('MaxUploads', 1000)}${el('IsTruncated', false)}${items.join('')}</ListMultipartUploadsResult>`;
}

/** ListParts (no pagination). */
export function listPartsXml(
  bucket: string,
  key: string,
  uploadId: string,
  parts: { number: number; etag: string; size: number; lastModified: Date }[],
): string {
  const items = parts.map(
    (p) =>
      `<Part>${el('PartNumber', p.number)}${el('LastModified', isoTime(p.lastModified))}${el('ETag', `"${p.etag}"`)}${el('Size', p.size)}</Part>`,
  );
  return `${DECL}<ListPartsResult xmlns="${NS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>${el('StorageClass', 'STANDARD')}${el('PartNumberMarker', 0)}${el('MaxParts', 1000)}${el('IsTruncated', false)}${items.join('')}</ListPartsResult>`;
}

/**
 * The parts of a CompleteMultipartUpload body, in document order, or undefined when it is
 * not a `<CompleteMultipartUpload>` document (S3: MalformedXML).
 */
export function parseCompleteBody(xml: string): { number: number; etag: string }[] | undefined {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) return undefined;
  const parts: { number: number; etag: string }[] = [];
  for (const m of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const body = m[1] ?? '';
    const number = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(body)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(body)?.[1];
    if (number === undefined || etag === undefined) return undefined;
    const clean = etag.replace(/&quot;|&#34;|"/g, '').trim();
    parts.push({ number: Number(number), etag: clean });
  }
  return parts;
}
