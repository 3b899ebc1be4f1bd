import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Counts and hashes the bytes of an object as they pass (SHA-256, hex). */
export class BodyDigest {
  private readonly hash: Hash = createHash('sha256');
  /** Bytes seen so far. */
  size = 0;

  /** Adds a chunk. */
  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  /** The hex digest (call once, at the end). */
  hex(): string {
    return this.hash.digest('hex');
  }
}

/** The chunks of a body, as Buffers (a Buffer body is one chunk). */
export async function* chunksOf(body: Buffer | Readable): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(body)) {
    yield body;
    return;
  }
  for await (const chunk of body) {
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
  }
}

/** The start of a body read into memory, and whether that was all of it. */
export interface BodyHead {
  chunks: Buffer[];
  size: number;
  /** True when the body ended within the limit. */
  complete: boolean;
  /** The rest of the body (already started), when not complete. */
  rest: AsyncGenerator<Buffer>;
}

/**
 * Reads a body into memory until it ends or passes `limit` bytes, so that small bodies can
 * be sent in one request with a known length and large ones streamed on.
 */
export async function readHead(body: Buffer | Readable, limit: number): Promise<BodyHead> {
  const rest = chunksOf(body);
  const chunks: Buffer[] = [];
  let size = 0;
  while (size <= limit) {
    const next = await rest.next();
    if (next.done) return { chunks, size, complete: true, rest };
    chunks.push(next.value);
    size += next.value.length;
  }
  return { chunks, size, complete: false, rest };
}
