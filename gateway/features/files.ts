import { Readable } from 'node:stream';
import { Composer, GrammyError } from 'grammy';
import type { Message } from 'grammy/types';
import type { Logger } from '../../core/logger.js';
import { type DocumentRow, findDocumentBySource, storeDocument } from '../../core/storage/documents.js';
import { ObjectSizeMismatchError, type ObjectStore } from '../../core/storage/object-store.js';
import { userFeatures } from '../../core/tenancy/access.js';
import type { LinkedMember } from '../../core/tenancy/members.js';
import { loadTenantContext } from '../../core/tenancy/tenants.js';
import type { BotContext } from '../bot/context.js';
import { messageSource, requireActive } from './guards.js';

/** The largest file the Bot API lets a bot download (getFile: "up to 20MB in size"). */
export const TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024;
/** A download that takes longer than this is given up. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

/** What the bot says about files: short and plain. */
export const fileReplies = {
  tooBig: (size: string) =>
    `Telegram lets bots download files up to 20 MB; this one is ${size}. Please send a smaller file, or split it into parts.`,
  tooBigUnknown:
    'Telegram lets bots download files up to 20 MB, and this one is larger. Please send a smaller file, or split it into parts.',
  saved: (name: string, size: string) =>
    `Saved ${name} (${size}). I'll be able to search it once the knowledge base is switched on.`,
  storageFailed: "I couldn't save that file right now, please try again later.",
  downloadFailed: "I couldn't fetch that file from Telegram right now, please try again later.",
  noFilesFeature: 'Sending files is not included for your account. Please contact your admin.',
  notSetUp: 'Saving files is not set up on this assistant yet. Please contact your admin.',
  voiceNotYet: "I can't listen to voice messages yet — please type your question.",
  videoNotYet: "I can't watch video messages yet — please type your question.",
} as const;

/** A file of an incoming message, as far as the message tells. */
interface IncomingFile {
  fileId: string;
  name: string;
  mime: string | undefined;
  /** Telegram's `file_size`, when it gave one. */
  size: number | undefined;
}

/** The download went wrong on Telegram's side or on the way (not the store's fault). */
class DownloadError extends Error {
  override name = 'DownloadError';
}

/** The download passed the 20 MB limit although Telegram did not say its size up front. */
class TooBigError extends Error {
  override name = 'TooBigError';
}

/**
 * Files and media from members. Documents and photos (the largest size of a photo) are
 * downloaded from the Bot API and stored through the object store under the tenant's
 * prefix with a `documents` row, then handed to `onDocumentStored`; files over Telegram's
 * 20 MB download limit are answered without downloading anything. Needs the `files`
 * feature of the plan (and the user). Voice, audio and video notes get a polite "not yet".
 * Unknown senders never get here (onboarding answers them).
 */
export function files(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.on(['message:document', 'message:photo'], async (ctx) => {
    const member = await requireActive(ctx);
    if (!member) return;
    const { deps, log } = ctx.anvil;
    const { limits } = await loadTenantContext(deps.db, member.tenant.id);
    if (!userFeatures(limits, member.user).includes('files')) return void (await ctx.reply(fileReplies.noFilesFeature));
    if (!deps.objects) {
      log.warn('a file arrived but the gateway has no object store');
      return void (await ctx.reply(fileReplies.notSetUp));
    }
    const file = incomingFile(ctx.message);
    if (file.size !== undefined && file.size > TELEGRAM_DOWNLOAD_LIMIT) {
      return void (await ctx.reply(fileReplies.tooBig(formatBytes(file.size))));
    }
    await receive(ctx, member, file, deps.objects);
  });

  composer.on(['message:voice', 'message:audio'], async (ctx) => {
    if (await requireActive(ctx)) await ctx.reply(fileReplies.voiceNotYet);
  });
  composer.on('message:video_note', async (ctx) => {
    if (await requireActive(ctx)) await ctx.reply(fileReplies.videoNotYet);
  });
  return composer;
}

/**
 * The seam for the knowledge pipeline: called once a document's object and row are stored,
 * by the delivery that stored them (a second delivery of the message finds the row and
 * does not call it). Today it only logs; the knowledge issue replaces the body with "queue
 * it for indexing" (and the reply in `files` changes with it). A gateway stopped between
 * the row and this call leaves a row in status `stored` that was never handed on, so the
 * pipeline should take its work from that status (and move it on), not from this call alone.
 */
export function onDocumentStored(doc: DocumentRow, log: Logger): void {
  log.info(
    { documentId: doc.id, tenantId: doc.tenant_id, key: doc.object_key, size: doc.size_bytes, mime: doc.mime_type },
    'document stored (the knowledge pipeline is not switched on yet)',
  );
}

/** getFile, the download, and the store, with a plain answer for each way it can fail. */
async function receive(ctx: BotContext, member: LinkedMember, file: IncomingFile, objects: ObjectStore): Promise<void> {
  const { deps, log } = ctx.anvil;
  const updateId = ctx.update.update_id;
  // A message processed again (a restart cut its handling short) keeps its one document.
  const source = messageSource(ctx);
  const already = findDocumentBySource(deps.db, member.tenant.id, source);
  if (already) return void (await ctx.reply(fileReplies.saved(already.title, formatBytes(already.size_bytes))));
  let filePath: string | undefined;
  let size = file.size;
  try {
    const got = await ctx.api.getFile(file.fileId);
    filePath = got.file_path;
    size = got.file_size ?? size;
  } catch (err) {
    if (err instanceof GrammyError && /too big/i.test(err.description))
      return void (await ctx.reply(fileReplies.tooBigUnknown));
    log.warn({ err, updateId }, 'getFile failed');
    return void (await ctx.reply(fileReplies.downloadFailed));
  }
  if (size !== undefined && size > TELEGRAM_DOWNLOAD_LIMIT)
    return void (await ctx.reply(fileReplies.tooBig(formatBytes(size))));
  if (!filePath) {
    log.warn({ updateId }, 'getFile gave no file_path');
    return void (await ctx.reply(fileReplies.downloadFailed));
  }

  const apiRoot = (ctx.api.options?.apiRoot ?? deps.config.TELEGRAM_API_ROOT).replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${apiRoot}/file/bot${ctx.api.token}/${filePath}`, {
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
    });
  } catch (err) {
    log.warn({ err: errorText(err), updateId }, 'the file download failed');
    return void (await ctx.reply(fileReplies.downloadFailed));
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    log.warn({ status: res.status, updateId }, 'the file download was refused');
    return void (await ctx.reply(fileReplies.downloadFailed));
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > TELEGRAM_DOWNLOAD_LIMIT) {
    await res.body.cancel().catch(() => undefined);
    return void (await ctx.reply(fileReplies.tooBig(formatBytes(declared))));
  }

  let stored: { document: DocumentRow; created: boolean };
  try {
    stored = await storeDocument(
      deps.db,
      objects,
      member.tenant.id,
      {
        filename: file.name,
        contentType: file.mime,
        body: Readable.from(guarded(res.body, TELEGRAM_DOWNLOAD_LIMIT)),
        size,
        uploadedBy: member.user.id,
        source,
      },
      { log },
    );
  } catch (err) {
    if (err instanceof TooBigError) return void (await ctx.reply(fileReplies.tooBigUnknown));
    if (err instanceof DownloadError || err instanceof ObjectSizeMismatchError) {
      log.warn({ err, updateId }, 'the file download broke off');
      return void (await ctx.reply(fileReplies.downloadFailed));
    }
    log.error({ err, updateId, tenantId: member.tenant.id }, 'could not store a file');
    return void (await ctx.reply(fileReplies.storageFailed));
  }
  const doc = stored.document;
  // Another delivery of this message stored it first and hands it on.
  if (stored.created) onDocumentStored(doc, log);
  await ctx.reply(fileReplies.saved(doc.title, formatBytes(doc.size_bytes)));
}

/**
 * The download's bytes, stopped past `limit` (TooBigError) and with the network's errors
 * marked as the download's (DownloadError), so the store's own failures stay apart.
 */
async function* guarded(body: ReadableStream<Uint8Array>, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  try {
    for await (const chunk of body) {
      seen += chunk.byteLength;
      if (seen > limit) throw new TooBigError(`the download passed ${limit} bytes`);
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (err) {
    if (err instanceof TooBigError) throw err;
    throw new DownloadError(`the download broke off: ${errorText(err)}`, { cause: err });
  }
}

/** The document or the largest photo size of a message. */
function incomingFile(msg: Message): IncomingFile {
  const stamp = new Date(msg.date * 1000).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  if (msg.document) {
    const d = msg.document;
    return { fileId: d.file_id, name: d.file_name ?? `document-${stamp}`, mime: d.mime_type, size: d.file_size };
  }
  const sizes = msg.photo ?? [];
  const area = (p: (typeof sizes)[number]) => p.file_size ?? p.width * p.height;
  const largest = sizes.reduce((best, p) => (area(p) > area(best) ? p : best), sizes[0]!);
  // Telegram re-encodes photos as JPEG.
  return { fileId: largest.file_id, name: `photo-${stamp}.jpg`, mime: 'image/jpeg', size: largest.file_size };
}

/** 532 bytes, 14.2 KB, 1.2 MB (binary units, as Telegram's 20 MB is). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
