/**
 * Request-parameter handling of the fake Telegram Bot API: query string, JSON,
 * x-www-form-urlencoded and multipart/form-data bodies (with grammY's
 * `attach://` file references), plus typed accessors that coerce form strings.
 */
import type { IncomingMessage } from 'node:http';
import { isRecord } from './http-util.js';
import { BotApiError, type FakeUploadedFile } from './telegram-state.js';

interface Part {
  name: string;
  filename?: string;
  content: Buffer;
}

function dispositionParam(header: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${key}=(?:"([^"]*)"|([^;]*))`, 'i').exec(header);
  if (!m) return undefined;
  return (m[1] ?? m[2] ?? '').trim();
}

/** Parses a multipart/form-data body (tolerant of grammY's compact header style). */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new BotApiError(400, 'Bad Request: invalid multipart/form-data body');
  pos += delimiter.length;
  while (pos < body.length) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing "--"
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    const next = headerEnd < 0 ? -1 : body.indexOf(separator, headerEnd + 4);
    if (headerEnd < 0 || next < 0) throw new BotApiError(400, 'Bad Request: invalid multipart/form-data body');
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n');
    const disposition = headers.find((h) => /^content-disposition\s*:/i.test(h))?.replace(/^[^:]*:/, '') ?? '';
    const name = dispositionParam(disposition, 'name');
    if (name !== undefined) {
      const filename = dispositionParam(disposition, 'filename');
      const part: Part = { name, content: body.subarray(headerEnd + 4, next) };
      if (filename !== undefined) part.filename = filename;
      parts.push(part);
    }
    pos = next + separator.length;
  }
  return parts;
}

function uploaded(part: Part): FakeUploadedFile {
  return { kind: 'upload', filename: part.filename ?? part.name, size: part.content.length, content: part.content };
}

/** Collects the parameters of a Bot API request from its query string and body. */
export function parseParams(req: IncomingMessage, url: URL, body: Buffer): Record<string, unknown> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length === 0) return params;
  if (type.startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BotApiError(400, "Bad Request: can't parse JSON object");
    }
    if (!isRecord(parsed)) throw new BotApiError(400, "Bad Request: can't parse JSON object");
    return { ...params, ...parsed };
  }
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
  }
  if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] ?? '');
    const b = boundary?.[1] ?? boundary?.[2];
    if (!b) throw new BotApiError(400, 'Bad Request: invalid multipart/form-data body');
    const files = new Map<string, FakeUploadedFile>();
    for (const part of parseMultipart(body, b.trim())) {
      if (part.filename !== undefined) files.set(part.name, uploaded(part));
      else params[part.name] = part.content.toString('utf8');
    }
    for (const [key, value] of Object.entries(params)) {
      if (typeof value !== 'string' || !value.startsWith('attach://')) continue;
      const file = files.get(value.slice('attach://'.length));
      if (file) {
        params[key] = file;
        files.delete(value.slice('attach://'.length));
      }
    }
    // A file part sent under the parameter's own name (curl -F document=@x) is the parameter itself.
    for (const [name, file] of files) if (!(name in params)) params[name] = file;
    return params;
  }
  return params;
}

/** True for a value produced from a multipart file part. */
export function isUploadedFile(value: unknown): value is FakeUploadedFile {
  return isRecord(value) && value.kind === 'upload' && Buffer.isBuffer(value.content);
}

/** An integer parameter (JSON number or decimal string). */
export function intParam(p: Record<string, unknown>, key: string): number | undefined {
  const v = p[key];
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

/** A string parameter (numbers are stringified). */
export function strParam(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** A boolean parameter (`true`, "true" or "1"). */
export function boolParam(p: Record<string, unknown>, key: string): boolean {
  const v = p[key];
  return v === true || v === 'true' || v === '1' || v === 1;
}

/** A JSON-serialized parameter: form fields carry it as a string, JSON bodies inline. */
export function jsonParam(p: Record<string, unknown>, key: string): unknown {
  const v = p[key];
  if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
    try {
      return JSON.parse(v);
    } catch {
      throw new BotApiError(400, `Bad Request: can't parse ${key} JSON object`);
    }
  }
  return v;
}
