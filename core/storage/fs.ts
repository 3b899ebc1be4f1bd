import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { access, type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ConflictError, NotFoundError } from '../errors.js';
import { BodyDigest, chunksOf } from './body.js';
import {
  type ListedObject,
  type ObjectInfo,
  type ObjectKey,
  type ObjectMeta,
  type ObjectPrefix,
  ObjectSizeMismatchError,
  type ObjectStore,
  parseObjectKey,
  parseObjectPrefix,
  type StoredObject,
  safeContentType,
} from './object-store.js';

/** The sidecar beside each object file. */
interface Sidecar {
  contentType: string;
  size: number;
  sha256: string;
}

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);
const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * The embedded object store: a folder (`<ANVIL_DATA_DIR>/objects`) where a key's parts are
 * directories and its last part the file, so an operator can browse and back it up with
 * ordinary tools. Beside each object `.<name>.meta.json` holds its content type and SHA-256.
 *
 * Writes are atomic: the bytes go to a temporary file in the object's own directory, are
 * fsynced and renamed over the final name, so a reader sees the old object or the new one,
 * never a part. Names starting with a dot (temporary files, sidecars) are never keys
 * (`tenantKey` refuses them), so they cannot collide with objects and `list` skips them.
 * Unlike S3, a key cannot also be a folder of other keys (`a` and `a/b`): that put is a
 * `ConflictError`. Anvil's own key layout never does it.
 */
export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs' as const;
  /** The absolute root folder. */
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(key: ObjectKey, body: Buffer | Readable, meta: ObjectMeta): Promise<StoredObject> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true }).catch((err: unknown) => {
      throw errno(err) === 'EEXIST' || errno(err) === 'ENOTDIR' ? keyConflict(key, err) : err;
    });
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const digest = new BodyDigest();
    let fh: FileHandle | undefined = await open(tmp, 'wx');
    try {
      for await (const chunk of chunksOf(body)) {
        digest.update(chunk);
        await writeAll(fh, chunk);
      }
      if (meta.size !== undefined && digest.size !== meta.size) {
        throw new ObjectSizeMismatchError(meta.size, digest.size);
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      const sidecar: Sidecar = {
        contentType: safeContentType(meta.contentType),
        size: digest.size,
        sha256: digest.hex(),
      };
      // The sidecar goes first: a crash between the two renames leaves a sidecar without an
      // object (invisible), never a new object described by nothing.
      await writeAtomically(sidecarOf(file), Buffer.from(JSON.stringify(sidecar)));
      await rename(tmp, file).catch((err: unknown) => {
        throw ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(errno(err) ?? '') ? keyConflict(key, err) : err;
      });
      await syncDir(dir);
      return { key, size: sidecar.size, sha256: sidecar.sha256 };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async get(key: ObjectKey): Promise<Readable> {
    const file = this.pathOf(key);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if (NOT_THERE.has(errno(err) ?? '')) throw missing(key);
      throw err;
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw missing(key);
    }
    return fh.createReadStream();
  }

  async head(key: ObjectKey): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    const st = await stat(file).catch((err: unknown) => {
      if (NOT_THERE.has(errno(err) ?? '')) return undefined;
      throw err;
    });
    if (!st?.isFile()) return undefined;
    const sidecar = await readSidecar(file);
    return { size: st.size, contentType: sidecar?.contentType ?? 'application/octet-stream' };
  }

  async delete(key: ObjectKey): Promise<void> {
    const file = this.pathOf(key);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return;
    for (const p of [file, sidecarOf(file)]) {
      await unlink(p).catch((err: unknown) => {
        if (!NOT_THERE.has(errno(err) ?? '')) throw err;
      });
    }
    await syncDir(path.dirname(file));
  }

  async *list(prefix: ObjectPrefix): AsyncIterable<ListedObject> {
    const valid = parseObjectPrefix(prefix);
    yield* this.walk(path.join(this.root, ...valid.slice(0, -1).split('/')), valid);
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.R_OK | constants.W_OK);
  }

  /** Lists a folder depth-first in key order (`a-b` before `a/…`, as S3 sorts). */
  private async *walk(dir: string, prefix: string): AsyncGenerator<ListedObject> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (NOT_THERE.has(errno(err) ?? '')) return;
      throw err;
    }
    const named = entries
      .filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isDirectory()))
      .map((e) => ({ e, sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const { e } of named) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        yield* this.walk(full, `${prefix}${e.name}/`);
        continue;
      }
      const st = await stat(full).catch(() => undefined);
      if (st?.isFile()) yield { key: `${prefix}${e.name}` as ObjectKey, size: st.size };
    }
  }

  /** The file of a key, checked again here so no caller can pass a path of its own. */
  private pathOf(key: ObjectKey): string {
    const valid = parseObjectKey(key);
    const file = path.join(this.root, ...valid.split('/'));
    if (!file.startsWith(`${this.root}${path.sep}`)) throw missing(key);
    return file;
  }
}

/** `.<name>.meta.json` in the object's directory. */
function sidecarOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.meta.json`);
}

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(sidecarOf(file), 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Writes a small file through a fsynced temporary file and a rename. */
async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.tmp-${randomBytes(8).toString('hex')}`);
  const fh = await open(tmp, 'wx');
  try {
    await writeAll(fh, data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

/** Makes a rename in `dir` durable (the directory entry itself is fsynced). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  // Some filesystems (and Windows) refuse fsync on a directory; the rename stands anyway.
  await fh.sync().catch(() => undefined);
  await fh.close();
}

function missing(key: string): NotFoundError {
  return new NotFoundError(`no object ${key}`, 'object_not_found');
}

function keyConflict(key: string, cause: unknown): ConflictError {
  const err = new ConflictError(
    `object key ${key} clashes with another key used as its folder (the embedded store cannot hold both)`,
    'object_key_conflict',
  );
  err.cause = cause;
  return err;
}
