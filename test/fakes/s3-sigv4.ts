/**
 * AWS Signature Version 4 checking for the fake S3 server: parses the `Authorization`
 * header, rebuilds the canonical request from what arrived and compares signatures, the
 * way S3 does (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** An S3 error the check ends in. */
export interface SigV4Failure {
  status: number;
  code: string;
  message: string;
  /** Extra XML elements of the error body (e.g. the expected Region). */
  extra?: Record<string, string>;
}

/** The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
interface ParsedAuth {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** S3 refuses requests whose x-amz-date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent also leaves !'()* alone). */
const uriEncode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function parseAuthorization(header: string): ParsedAuth | undefined {
  if (!header.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential?.length !== 5 || !signedHeaders || !signature || credential[4] !== 'aws4_request') return undefined;
  const [accessKey, date, region, service] = credential as [string, string, string, string];
  return { accessKey, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** The canonical query string: pairs decoded, re-encoded strictly, sorted by name then value. */
function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [uriEncode(decodeURIComponent(name)), uriEncode(decodeURIComponent(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

/** `20261122T041000Z` → epoch ms. */
function amzDateMs(v: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * Checks a request's SigV4 header signature against the one access key the fake knows;
 * returns the failure S3 would answer, or undefined when the request is properly signed.
 * The payload hash (`x-amz-content-sha256`) is part of the signature; that it matches the
 * body is checked separately, once the body is read.
 */
export function checkSignature(
  req: IncomingMessage,
  creds: { accessKey: string; secretKey: string; region: string },
): SigV4Failure | undefined {
  const header = req.headers.authorization;
  if (!header) return { status: 403, code: 'AccessDenied', message: 'Access Denied.' };
  const auth = parseAuthorization(header);
  if (!auth) {
    return {
      status: 400,
      code: 'AuthorizationHeaderMalformed',
      message:
        'The authorization header is malformed; it must be AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=….',
    };
  }
  if (auth.accessKey !== creds.accessKey) {
    return {
      status: 403,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
      extra: { AWSAccessKeyId: auth.accessKey },
    };
  }
  if (auth.region !== creds.region || auth.service !== 's3') {
    return {
      status: 400,
      code: 'AuthorizationHeaderMalformed',
      message: `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${creds.region}'`,
      extra: { Region: creds.region },
    };
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const at = amzDateMs(amzDate);
  if (Number.isNaN(at) || !amzDate.startsWith(auth.date)) {
    return {
      status: 403,
      code: 'AccessDenied',
      message: 'AWS authentication requires a valid Date or x-amz-date header',
    };
  }
  if (Math.abs(Date.now() - at) > MAX_SKEW_MS) {
    return {
      status: 403,
      code: 'RequestTimeTooSkewed',
      message: 'The difference between the request time and the current time is too large.',
    };
  }
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (typeof payloadHash !== 'string') {
    return {
      status: 400,
      code: 'InvalidRequest',
      message: 'Missing required header for this request: x-amz-content-sha256',
    };
  }
  if (!auth.signedHeaders.includes('host')) {
    return { status: 403, code: 'AccessDenied', message: 'The host header must be signed.' };
  }
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const canonicalHeaders = auth.signedHeaders
    .map(
      (h) =>
        `${h}:${String(req.headers[h] ?? '')
          .replace(/\s+/g, ' ')
          .trim()}\n`,
    )
    .join('');
  const canonical = [
    req.method ?? 'GET',
    q < 0 ? url : url.slice(0, q),
    canonicalQuery(q < 0 ? '' : url.slice(q + 1)),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretKey}`, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (expected !== auth.signature) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message:
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      extra: { AWSAccessKeyId: auth.accessKey, StringToSign: stringToSign, CanonicalRequest: canonical },
    };
  }
  return undefined;
}

/** Checks the body against `x-amz-content-sha256` (hex, or UNSIGNED-PAYLOAD) and Content-MD5. */
export function checkPayload(req: IncomingMessage, body: Buffer): SigV4Failure | undefined {
  const declared = String(req.headers['x-amz-content-sha256'] ?? '');
  if (declared.startsWith('STREAMING-')) {
    return { status: 501, code: 'NotImplemented', message: 'The fake does not speak aws-chunked streaming uploads.' };
  }
  if (declared !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-f]{64}$/.test(declared)) {
      return {
        status: 400,
        code: 'InvalidArgument',
        message: 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a hex SHA-256',
      };
    }
    if (sha256Hex(body) !== declared) {
      return {
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      };
    }
  }
  const md5 = req.headers['content-md5'];
  if (typeof md5 === 'string') {
    const given = Buffer.from(md5, 'base64');
    if (given.length !== 16)
      return { status: 400, code: 'InvalidDigest', message: 'The Content-MD5 you specified is not valid.' };
    if (!createHash('md5').update(body).digest().equals(given)) {
      return {
        status: 400,
        code: 'BadDigest',
        message: 'The Content-MD5 you specified did not match what we received.',
      };
    }
  }
  return undefined;
}
