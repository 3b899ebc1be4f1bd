/**
 * Files and media sent to the bot: documents and photos stored under the tenant's prefix
 * with a documents row, Telegram's 20 MB limit answered without a download, voice notes
 * politely declined, strangers and plans without files refused, and storage failures
 * answered plainly with nothing half-written.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentsTable, Tenant, TenantUser } from '../../../core/db/schema.js';
import type { Logger } from '../../../core/logger.js';
import { parseObjectKey, tenantPrefix } from '../../../core/storage/object-store.js';
import { fileReplies } from '../../../gateway/features/files.js';
import { fsStore, listAll, readAll, type StoreUnderTest, s3Store, sha256 } from '../../core/storage/helpers.js';
import { type Harness, startHarness, type TestBot, type TgUser } from '../features/harness.js';
import { pushMedia, replyTo, sendDocument, sendPhoto } from './media.js';

const MB = 1024 * 1024;

let h: Harness;
let seq = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  h = await startHarness();
  // A plan like Starter, but without files.
  h.t.db.sqlite.exec(
    `INSERT INTO plans (id, name, max_users, messages_per_day, monthly_token_budget, features, allowed_models,
       default_model, embed_model, weight, max_concurrent, created_at, updated_at)
     SELECT 'chat-only', 'Chat only', max_users, messages_per_day, monthly_token_budget, '["chat"]', allowed_models,
       default_model, embed_model, weight, max_concurrent, created_at, updated_at FROM plans WHERE id = 'starter'`,
  );
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await h?.close();
});

interface Scenario {
  bot: TestBot;
  tenant: Tenant;
  user: TenantUser;
  who: TgUser;
  objects: StoreUnderTest | undefined;
}

/** A fresh bot, object store, tenant and member for one test. */
async function scenario(
  opts: { store?: 'fs' | 's3' | 'none'; plan?: string; logger?: Logger } = {},
): Promise<Scenario> {
  seq++;
  const objects =
    opts.store === 'none' ? undefined : opts.store === 's3' ? await s3Store({ retryDelayMs: 1 }) : fsStore();
  if (objects) cleanups.push(() => objects.cleanup());
  const bot = await h.startBot(
    `files_bot_${seq}`,
    { kind: 'platform' },
    {
      objects: objects?.store,
      ...(opts.logger ? { logger: opts.logger } : {}),
    },
  );
  const tenant = await h.tenant(`files-${seq}`, { plan: opts.plan ?? 'starter' });
  const who: TgUser = { id: 7_000 + seq, first_name: 'Ann' };
  const user = await h.join(tenant.id, who);
  return { bot, tenant, user, who, objects };
}

const documentsOf = (tenantId: string) =>
  h.t.db.sqlite.prepare('SELECT * FROM documents WHERE tenant_id = ?').all(tenantId) as DocumentsTable[];
const getFileCalls = (bot: TestBot) => h.telegram.calls.filter((c) => c.token === bot.token && c.method === 'getFile');
const stored = async (s: Scenario) => (s.objects ? listAll(s.objects.store, tenantPrefix(s.tenant.id)) : []);

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe.each(['fs', 's3'] as const)('a member sends a PDF (%s store)', (store) => {
  it('is stored under their tenant with the same bytes, a documents row and a confirmation', async () => {
    const s = await scenario({ store });
    const pdf = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.alloc(1.2 * MB, 7),
    ]);
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: pdf, fileName: 'report.pdf', mime: 'application/pdf' });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(
      "Saved report.pdf (1.2 MB). I'll be able to search it once the knowledge base is switched on.",
    );
    const [doc, ...more] = documentsOf(s.tenant.id);
    expect(more).toEqual([]);
    expect(doc).toMatchObject({
      tenant_id: s.tenant.id,
      title: 'report.pdf',
      mime_type: 'application/pdf',
      size_bytes: pdf.length,
      sha256: sha256(pdf),
      status: 'stored',
      uploaded_by: s.user.id,
    });
    expect(doc?.object_key).toMatch(new RegExp(`^tenants/${s.tenant.id}/files/\\d{4}-\\d{2}/${doc?.id}-report\\.pdf$`));
    const bytes = await readAll(await s.objects!.store.get(parseObjectKey(doc!.object_key)));
    expect(bytes.equals(pdf)).toBe(true);
    expect(await s.objects!.store.head(parseObjectKey(doc!.object_key))).toEqual({
      size: pdf.length,
      contentType: 'application/pdf',
    });
  });
});

describe('a file message Telegram delivers twice', () => {
  it('is downloaded and stored once, and confirmed both times', async () => {
    const s = await scenario({ store: 'fs' });
    const content = Buffer.from('%PDF-1.7\nquote for 40 t of S355 plate\n');
    const file = h.telegram.addFile(s.bot.token, content, 'documents/twice.dat');
    const message = {
      message_id: 880_001,
      from: { id: s.who.id, is_bot: false, first_name: s.who.first_name },
      chat: { id: s.who.id, type: 'private', first_name: s.who.first_name },
      date: Math.floor(Date.now() / 1000),
      document: {
        file_id: file.file_id,
        file_unique_id: file.file_unique_id,
        file_name: 'quote.pdf',
        file_size: content.length,
      },
    } as never;
    const since = h.telegram.calls.length;
    const updateId = h.telegram.pushUpdate(s.bot.token, { message });
    const saved = "Saved quote.pdf (38 bytes). I'll be able to search it once the knowledge base is switched on.";
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(saved);
    // Delivered again (a restart before the update was confirmed): one document, one object.
    const again = h.telegram.calls.length;
    h.telegram.pushUpdate(s.bot.token, { message, update_id: updateId });
    expect(await replyTo(h.telegram, s.bot, s.who.id, again)).toBe(saved);
    expect(documentsOf(s.tenant.id)).toHaveLength(1);
    expect(await stored(s)).toHaveLength(1);
    expect(getFileCalls(s.bot)).toHaveLength(1);
  });
});

describe('files over Telegram’s 20 MB download limit', () => {
  it('get the size answer, and nothing is downloaded or stored', async () => {
    const s = await scenario();
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, {
      content: Buffer.alloc(25 * MB, 1),
      fileName: 'scan.pdf',
      mime: 'application/pdf',
    });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.tooBig('25.0 MB'));
    expect(fileReplies.tooBig('25.0 MB')).toMatch(
      /^Telegram lets bots download files up to 20 MB; this one is 25\.0 MB/,
    );
    expect(getFileCalls(s.bot)).toEqual([]);
    expect(await stored(s)).toEqual([]);
    expect(documentsOf(s.tenant.id)).toEqual([]);
  });

  it('are caught from getFile when the update does not say the size', async () => {
    const s = await scenario();
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: Buffer.alloc(21 * MB, 1), fileName: 'big.zip', fileSize: null });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.tooBig('21.0 MB'));
    expect(getFileCalls(s.bot)).toHaveLength(1);
    expect(await stored(s)).toEqual([]);
  });

  it('get the plain answer when Telegram itself says the file is too big', async () => {
    const s = await scenario();
    h.telegram.failNext('getFile', 1, { error_code: 400, description: 'Bad Request: file is too big' });
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: Buffer.from('x'), fileName: 'huge.mov', fileSize: null });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.tooBigUnknown);
    expect(await stored(s)).toEqual([]);
  });
});

describe('photos', () => {
  it('are stored in their largest size as JPEG', async () => {
    const s = await scenario();
    const thumb = Buffer.alloc(2_000, 1);
    const full = Buffer.alloc(150_000, 2);
    const since = h.telegram.calls.length;
    sendPhoto(h.telegram, s.bot, s.who, [
      { content: thumb, width: 90, height: 67 },
      { content: full, width: 1280, height: 960 },
    ]);
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toMatch(
      /^Saved photo-\d{8}-\d{6}\.jpg \(146\.5 KB\)\. I'll be able to search it/,
    );
    const [doc] = documentsOf(s.tenant.id);
    expect(doc).toMatchObject({ mime_type: 'image/jpeg', size_bytes: full.length, sha256: sha256(full) });
    expect((await readAll(await s.objects!.store.get(parseObjectKey(doc!.object_key)))).equals(full)).toBe(true);
  });
});

describe('voice, audio and video notes', () => {
  it('get a polite "not yet", and nothing is downloaded', async () => {
    const s = await scenario();
    const voice = {
      file_id: 'AwACAgI-voice',
      file_unique_id: 'AgADvoice',
      duration: 4,
      mime_type: 'audio/ogg',
      file_size: 9_000,
    };
    let since = h.telegram.calls.length;
    pushMedia(h.telegram, s.bot, s.who, { voice });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(
      "I can't listen to voice messages yet — please type your question.",
    );
    since = h.telegram.calls.length;
    pushMedia(h.telegram, s.bot, s.who, { audio: { ...voice, file_id: 'CQACAgI-audio' } });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.voiceNotYet);
    since = h.telegram.calls.length;
    pushMedia(h.telegram, s.bot, s.who, {
      video_note: { file_id: 'DQACAgI-vn', file_unique_id: 'AgADvn', length: 240, duration: 3 },
    });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.videoNotYet);
    expect(getFileCalls(s.bot)).toEqual([]);
    expect(h.modelCalls().filter((c) => JSON.stringify(c.body).includes('voice'))).toEqual([]);
  });
});

describe('who may send files', () => {
  it('an unknown sender gets the onboarding line only, and nothing is stored', async () => {
    const s = await scenario();
    const stranger: TgUser = { id: 6_666, first_name: 'Mallory' };
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, stranger, { content: Buffer.from('%PDF'), fileName: 'x.pdf' });
    expect(await replyTo(h.telegram, s.bot, stranger.id, since)).toMatch(/invited teams only/);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.bot.callsTo(stranger.id, 'sendMessage', since)).toHaveLength(1);
    expect(getFileCalls(s.bot)).toEqual([]);
    expect(await stored(s)).toEqual([]);
  });

  it('a plan without files gets a clear refusal, and nothing is stored', async () => {
    const s = await scenario({ plan: 'chat-only' });
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: Buffer.from('%PDF'), fileName: 'x.pdf' });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(
      'Sending files is not included for your account. Please contact your admin.',
    );
    expect(getFileCalls(s.bot)).toEqual([]);
    expect(await stored(s)).toEqual([]);
    expect(documentsOf(s.tenant.id)).toEqual([]);
  });

  it('a user whose own features leave files out is refused too', async () => {
    const s = await scenario({ plan: 'enterprise' });
    h.t.db.sqlite.prepare(`UPDATE tenant_users SET features = '["chat"]' WHERE id = ?`).run(s.user.id);
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: Buffer.from('%PDF'), fileName: 'x.pdf' });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.noFilesFeature);
    expect(await stored(s)).toEqual([]);
  });
});

describe('when storing fails', () => {
  it('the object store failing gets the friendly answer, a log line with the update id, and no row', async () => {
    const { logger, lines } = capturingLogger();
    const s = await scenario({ store: 's3', logger });
    s.objects!.s3!.failNext({ status: 503, code: 'SlowDown' }, { op: 'PutObject', count: 10 });
    const since = h.telegram.calls.length;
    const { updateId } = sendDocument(h.telegram, s.bot, s.who, {
      content: Buffer.from('%PDF-1.7'),
      fileName: 'a.pdf',
    });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(
      "I couldn't save that file right now, please try again later.",
    );
    expect(documentsOf(s.tenant.id)).toEqual([]);
    expect(s.objects!.s3!.keys('anvil')).toEqual([]);
    expect(lines.find((l) => l.msg === 'could not store a file')).toMatchObject({ level: 50, updateId });
  });

  it('the documents row failing deletes the object again', async () => {
    const s = await scenario();
    h.t.db.sqlite.exec(
      `CREATE TRIGGER no_docs BEFORE INSERT ON documents BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`,
    );
    try {
      const since = h.telegram.calls.length;
      sendDocument(h.telegram, s.bot, s.who, { content: Buffer.from('%PDF-1.7'), fileName: 'a.pdf' });
      expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.storageFailed);
    } finally {
      h.t.db.sqlite.exec('DROP TRIGGER no_docs');
    }
    expect(await stored(s)).toEqual([]);
    expect(documentsOf(s.tenant.id)).toEqual([]);
  });

  it('a gateway without an object store says so', async () => {
    const s = await scenario({ store: 'none' });
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: Buffer.from('%PDF'), fileName: 'x.pdf' });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.notSetUp);
    expect(documentsOf(s.tenant.id)).toEqual([]);
  });

  it('a download Telegram refuses gets its own answer', async () => {
    const s = await scenario();
    h.telegram.failNext('getFile', 1, { error_code: 400, description: 'Bad Request: invalid file_id' });
    const since = h.telegram.calls.length;
    sendDocument(h.telegram, s.bot, s.who, { content: Buffer.from('%PDF'), fileName: 'x.pdf' });
    expect(await replyTo(h.telegram, s.bot, s.who.id, since)).toBe(fileReplies.downloadFailed);
    expect(await stored(s)).toEqual([]);
  });
});
