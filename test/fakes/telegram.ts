/**
 * A fake Telegram Bot API server for tests: a real HTTP server on 127.0.0.1
 * answering `${apiRoot}/bot${token}/${method}` (GET/POST; query, JSON,
 * urlencoded or multipart parameters) and `${apiRoot}/file/bot${token}/${path}`
 * the way api.telegram.org does, for any number of bots at once.
 */
import { randomBytes } from 'node:crypto';
import type { Chat, Message, MessageEntity, Update, User } from 'grammy/types';
import { listenLoopback } from './http-util.js';
import { isUploadedFile } from './telegram-params.js';
import { createRouter, type FloodControl, type QueuedFault } from './telegram-router.js';
import {
  addStoredFile,
  BotApiError,
  type BotState,
  chatState,
  createBotState,
  type FakeBotInfo,
  type FakeSentMessage,
  type FakeTelegramCall,
  storeMessage,
  unixNow,
} from './telegram-state.js';
import { enqueueUpdate } from './telegram-updates.js';

/** Public record types, defined with the state that holds them. */
export type {
  FakeBotInfo,
  FakeSentMessage,
  FakeTelegramCall,
  FakeTelegramResponse,
  FakeUploadedFile,
} from './telegram-state.js';

/** Options of startFakeTelegram. */
export interface FakeTelegramOptions {
  /**
   * Reject an `&` that starts no entity in HTML texts (default true). The real
   * server keeps such an `&` literally; the Bot API docs require escaping it.
   */
  strictAmpersand?: boolean;
}

/** An update as a test pushes it: update_id is assigned when missing. */
export type FakeUpdateInput = Omit<Update, 'update_id'> & { update_id?: number };

/** Handle on a running fake Telegram Bot API. */
export interface FakeTelegram {
  /** `http://127.0.0.1:PORT`; pass as grammY's `client.apiRoot`. */
  apiRoot: string;
  /** Every API call, in arrival order. */
  calls: FakeTelegramCall[];
  /** Registers a bot; the token defaults to `${id}:FAKE…`. */
  addBot(info: { id?: number; username: string; first_name?: string; token?: string }): FakeBotInfo;
  /** Revokes a token: later calls with it get 401 Unauthorized. */
  removeBot(token: string): void;
  /** Queues an update for a bot (delivered through getUpdates or the webhook); returns its update_id. */
  pushUpdate(token: string, update: FakeUpdateInput): number;
  /** Convenience: a text message from a user (private chat unless `opts.chat`). Returns the update_id. */
  sendText(
    token: string,
    from: { id: number; first_name?: string; username?: string },
    text: string,
    opts?: {
      chat?: { id: number; type: 'private' | 'group' | 'supergroup'; title?: string };
      message_thread_id?: number;
    },
  ): number;
  /** Resolves with the first answered call (past or future) matching, or rejects after timeoutMs (default 5000). */
  waitForCall(predicate: (c: FakeTelegramCall) => boolean, timeoutMs?: number): Promise<FakeTelegramCall>;
  /** Answers the next `count` calls of `method` (of `token`'s bot, or any) with a Bot API error (retry_after → parameters.retry_after). */
  failNext(
    method: string,
    count: number,
    error: { error_code: number; description: string; retry_after?: number },
    token?: string,
  ): void;
  /**
   * Plays Telegram's flood control: more than `perSecond` writes (send*, edit*, copy*,
   * forward*, deleteMessage) by one bot within a second get 429 with retry_after.
   * `undefined` turns it off (the default).
   */
  floodLimit(perSecond: number | undefined): void;
  /** Messages the bot has sent to a chat and not deleted, edits applied, in message_id order. */
  sentTo(token: string, chatId: number): FakeSentMessage[];
  /** Makes content downloadable through getFile and /file/bot<token>/<file_path>. */
  addFile(
    token: string,
    content: Buffer,
    file_path?: string,
  ): { file_id: string; file_unique_id: string; file_size: number; file_path: string };
  /** Answers pending long polls with [] and stops the server. */
  close(): Promise<void>;
}

interface Waiter {
  predicate: (c: FakeTelegramCall) => boolean;
  resolve: (c: FakeTelegramCall) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

function commandEntities(text: string): MessageEntity[] {
  const out: MessageEntity[] = [];
  for (const m of text.matchAll(/(^|\s)(\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)/g)) {
    out.push({ type: 'bot_command', offset: (m.index ?? 0) + (m[1]?.length ?? 0), length: m[2]?.length ?? 0 });
  }
  return out;
}

/** Runs a test's predicate; one that throws simply does not match. */
function matches(predicate: (c: FakeTelegramCall) => boolean, call: FakeTelegramCall): boolean {
  try {
    return predicate(call);
  } catch {
    return false;
  }
}

function describeCall(c: FakeTelegramCall): string {
  const params = JSON.stringify(c.params, (_k, v: unknown) => {
    if (isUploadedFile(v)) return { filename: v.filename, size: v.size };
    return typeof v === 'string' && v.length > 80 ? `${v.slice(0, 77)}...` : v;
  });
  const outcome = !c.response ? 'pending' : c.response.ok ? 'ok' : `${c.response.error_code} ${c.response.description}`;
  return `${c.method}(${params}) → ${outcome}`;
}

/** Starts a fake Telegram Bot API on an ephemeral loopback port. */
export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const strictAmpersand = opts.strictAmpersand ?? true;
  const bots = new Map<string, BotState>();
  const calls: FakeTelegramCall[] = [];
  const settled = new WeakSet<FakeTelegramCall>();
  const waiters = new Set<Waiter>();
  const faults: QueuedFault[] = [];
  const flood: FloodControl = { perSecond: undefined, writes: new Map() };
  const inflight = new Set<Promise<void>>();
  let nextBotId = 6_000_000_001;

  const settle = (call: FakeTelegramCall): void => {
    if (settled.has(call)) return;
    settled.add(call);
    for (const w of waiters) {
      if (matches(w.predicate, call)) {
        clearTimeout(w.timer);
        waiters.delete(w);
        w.resolve(call);
      }
    }
  };

  const liveBot = (token: string): BotState => {
    const bot = bots.get(token);
    if (!bot || bot.removed) throw new Error(`fake Telegram: no bot with token ${token}`);
    return bot;
  };

  const handle = createRouter({ bots, calls, faults, flood, strictAmpersand, settle });

  const server = await listenLoopback((req, res) => {
    const p = handle(req, res);
    inflight.add(p);
    return p.finally(() => inflight.delete(p));
  });

  const pushUpdate = (token: string, input: FakeUpdateInput): number => {
    const bot = liveBot(token);
    const id = input.update_id ?? bot.nextUpdateId;
    bot.nextUpdateId = Math.max(bot.nextUpdateId, id + 1);
    const update = { ...input, update_id: id } as Update;
    for (const m of [update.message, update.edited_message, update.channel_post, update.edited_channel_post]) {
      if (m) chatState(bot, m.chat.id, m.chat);
    }
    if (update.message)
      storeMessage(bot, {
        message: update.message,
        fromBot: false,
        deleted: false,
        kind: 'incoming',
        raw: update.message.text ?? '',
      });
    if (update.callback_query) bot.callbackQueries.add(update.callback_query.id);
    enqueueUpdate(bot, update);
    return id;
  };

  return {
    apiRoot: server.url,
    calls,
    addBot(info) {
      const id = info.id ?? nextBotId++;
      const token = info.token ?? `${id}:FAKE${randomBytes(24).toString('base64url').slice(0, 31)}`;
      if (bots.get(token)?.removed === false) throw new Error(`fake Telegram: token ${token} is already registered`);
      const bot: FakeBotInfo = { id, username: info.username, first_name: info.first_name ?? info.username, token };
      bots.set(token, createBotState(bot));
      return { ...bot };
    },
    removeBot(token) {
      const bot = bots.get(token);
      if (!bot) return;
      bot.removed = true;
      bot.webhook = undefined;
      bot.poll?.fail(new BotApiError(401, 'Unauthorized'));
    },
    pushUpdate,
    sendText(token, from, text, opts) {
      const bot = liveBot(token);
      const c = opts?.chat;
      const user: User = {
        id: from.id,
        is_bot: false,
        first_name: from.first_name ?? `User ${from.id}`,
        language_code: 'en',
      };
      if (from.username) user.username = from.username;
      let chat: Exclude<Chat, Chat.ChannelChat>;
      if (!c || c.type === 'private') {
        chat = { id: c?.id ?? from.id, type: 'private', first_name: user.first_name };
        if (from.username) chat.username = from.username;
      } else chat = { id: c.id, type: c.type, title: c.title ?? `Group ${c.id}` };
      const message: Message & Update.NonChannel = {
        message_id: chatState(bot, chat.id, chat).nextMessageId,
        from: user,
        chat,
        date: unixNow(),
        text,
      };
      const entities = commandEntities(text);
      if (entities.length > 0) message.entities = entities;
      if (opts?.message_thread_id !== undefined) {
        message.message_thread_id = opts.message_thread_id;
        message.is_topic_message = true;
      }
      return pushUpdate(token, { message });
    },
    waitForCall(predicate, timeoutMs = 5000) {
      const past = calls.find((c) => settled.has(c) && matches(predicate, c));
      if (past) return Promise.resolve(past);
      return new Promise<FakeTelegramCall>((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            const seen = calls.map(describeCall).join('\n  ') || '(none)';
            reject(new Error(`waitForCall: no matching call within ${timeoutMs} ms; calls seen:\n  ${seen}`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    failNext(method, count, error, token) {
      if (count <= 0) return;
      const err = new BotApiError(error.error_code, error.description, error.retry_after);
      faults.push({ method: method.toLowerCase(), remaining: count, error: err, token });
    },
    floodLimit(perSecond) {
      flood.perSecond = perSecond;
      flood.writes.clear();
    },
    sentTo(token, chatId) {
      const chat = bots.get(token)?.chats.get(chatId);
      if (!chat) return [];
      return [...chat.messages.values()]
        .filter((s) => s.fromBot && !s.deleted && s.kind !== 'incoming')
        .sort((a, b) => a.message.message_id - b.message.message_id)
        .map((s) => {
          const sent: FakeSentMessage = {
            message_id: s.message.message_id,
            text: s.raw,
            plain_text: s.message.text ?? s.message.caption ?? '',
            kind: s.kind === 'incoming' ? 'text' : s.kind,
          };
          if (s.parseMode) sent.parse_mode = s.parseMode;
          return sent;
        });
    },
    addFile(token, content, filePath) {
      const { file_id, file_unique_id, file_size, file_path } = addStoredFile(liveBot(token), content, filePath);
      return { file_id, file_unique_id, file_size, file_path };
    },
    async close() {
      for (const bot of bots.values()) {
        bot.closed = true;
        bot.poll?.finish([]);
      }
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error('fake Telegram closed'));
      }
      waiters.clear();
      const drained = Promise.allSettled([...inflight]);
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
      server.server.closeIdleConnections();
      await server.close();
    },
  };
}
