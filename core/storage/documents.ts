import type { Readable } from 'node:stream';
import type { Selectable } from 'kysely';
import { newId } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { DocumentsTable } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { type ObjectStore, safeContentType, tenantKey } from './object-store.js';

/** A row of `documents`. */
export type DocumentRow = Selectable<DocumentsTable>;

/** A file a tenant's user hands over. */
export interface NewDocument {
  /** The name the user gave the file (cleaned up for the key; kept as the title). */
  filename: string;
  contentType: string | undefined;
  body: Buffer | Readable;
  /** The exact size when known (a truncated body is then refused). */
  size?: number;
  /** The tenant user who sent it. */
  uploadedBy: string | null;
  /** Where it came from, when the same source must give one document (see `findDocumentBySource`). */
  source?: string;
}

/** Longest file name kept in a key, in UTF-8 bytes (a key part may have 200; the id takes 17). */
const MAX_NAME_BYTES = 150;

/**
 * A file name that is safe as the last part of an object key and readable in a listing:
 * Unicode kept (NFC), path separators, control and reserved characters replaced, leading
 * dots and spaces dropped, long names shortened keeping the extension; `file` when nothing
 * is left.
 */
export function safeFilename(name: string): string {
  const n = name
    .normalize('NFC')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]+/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s_]+/, '')
    .replace(/[.\s]+$/, '');
  if (Buffer.byteLength(n) <= MAX_NAME_BYTES) return n || 'file';
  const dot = n.lastIndexOf('.');
  const ext = dot > 0 && n.length - dot <= 10 ? n.slice(dot) : '';
  let stem = '';
  for (const ch of n.slice(0, n.length - ext.length)) {
    if (Buffer.byteLength(stem + ch + ext) > MAX_NAME_BYTES) break;
    stem += ch;
  }
  return `${stem.trimEnd()}${ext}`;
}

/**
 * Stores a tenant's file: the object first, under
 * `tenants/<tenant>/files/<yyyy-mm>/<document id>-<safe name>`, then its `documents` row
 * (status `stored`, size and SHA-256 as written) in one transaction. When the row cannot be
 * written the object is deleted again, so no object is left without its row; a failing
 * object write leaves no row (an object that cannot be deleted again is logged). Errors of
 * the store or of the body pass through unchanged.
 *
 * A document from a `source` already stored (two deliveries of one message at once) is not
 * stored twice: the first row stands and comes back with `created: false`, so only the
 * delivery that stored it hands it on.
 */
export async function storeDocument(
  db: Db,
  objects: ObjectStore,
  tenantId: string,
  doc: NewDocument,
  opts: { now?: number; log?: Pick<Logger, 'error'> } = {},
): Promise<{ document: DocumentRow; created: boolean }> {
  const now = opts.now ?? Date.now();
  const id = newId();
  const title = safeFilename(doc.filename);
  const month = new Date(now).toISOString().slice(0, 7);
  const key = tenantKey(tenantId, 'files', month, `${id}-${title}`);
  const mime = safeContentType(doc.contentType);
  const stored = await objects.put(key, doc.body, { contentType: mime, size: doc.size });
  const row: DocumentRow = {
    id,
    tenant_id: tenantId,
    title,
    object_key: stored.key,
    mime_type: mime,
    size_bytes: stored.size,
    sha256: stored.sha256,
    status: 'stored',
    uploaded_by: doc.uploadedBy,
    created_at: now,
    source: doc.source ?? null,
  };
  try {
    db.transaction(() => {
      db.run(db.kysely.insertInto('documents').values(row));
    });
  } catch (err) {
    await objects.delete(stored.key).catch((cause: unknown) => {
      opts.log?.error({ err: cause, key: stored.key }, 'could not delete an object whose document row failed');
    });
    // The same source stored meanwhile (two deliveries of one message at once): that one stands.
    const same = doc.source === undefined ? undefined : findDocumentBySource(db, tenantId, doc.source);
    if (same) return { document: same, created: false };
    throw err;
  }
  return { document: row, created: true };
}

/** The tenant's document stored from `source`, if any. */
export function findDocumentBySource(db: Db, tenantId: string, source: string): DocumentRow | undefined {
  return db.first(
    db.kysely.selectFrom('documents').selectAll().where('tenant_id', '=', tenantId).where('source', '=', source),
  );
}

/** A tenant's documents, newest first. */
export async function listDocuments(db: Db, tenantId: string): Promise<DocumentRow[]> {
  return db.kysely
    .selectFrom('documents')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .execute();
}
