/**
 * State and public types of the fake Telegram Bot API: bots, chats, stored
 * messages, files, the update queue, and the error type every method throws.
 */
import { randomBytes } from 'node:crypto';
import type { BotCommand, Chat, Message, Update, UserFromGetMe } from 'grammy/types';

/** A Bot API error: becomes `{"ok":false,"error_code","description","parameters"}` with HTTP status = code. */
export class BotApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
    this.name = 'BotApiError';
  }
}

/** A bot registered with the fake. */
export interface FakeBotInfo {
  id: number;
  username: string;
  first_name: string;
  token: string;
}

/** What the fake answered to one call. */
export type FakeTelegramResponse =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } };

/** One Bot API call as the fake received it. */
export interface FakeTelegramCall {
  token: string;
  /** Method name as the client spelled it. */
  method: string;
  /** Parameters from query string and body; uploaded files appear as FakeUploadedFile. */
  params: Record<string, unknown>;
  /** Date.now() at arrival. */
  at: number;
  /** The answer, once it was given (extension beyond the brief). */
  response?: FakeTelegramResponse;
}

/** A file part of a multipart/form-data request. */
export interface FakeUploadedFile {
  readonly kind: 'upload';
  filename: string;
  size: number;
  content: Buffer;
}

/** A message the bot sent, as sentTo reports it. */
export interface FakeSentMessage {
  message_id: number;
  /** Text (or caption) exactly as the bot sent it, markup included. */
  text: string;
  parse_mode?: string;
  /** What the user sees: tags removed, entities decoded, trimmed. */
  plain_text: string;
  kind: 'text' | 'document' | 'photo';
}

/** A file the fake can serve through getFile and the download endpoint. */
export interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  file_path: string;
  content: Buffer;
}

/** One message in a chat, with the bookkeeping edits need. */
export interface StoredMessage {
  message: Message;
  fromBot: boolean;
  deleted: boolean;
  kind: FakeSentMessage['kind'] | 'incoming';
  raw: string;
  parseMode?: string;
}

/** A chat the bot knows. */
export interface ChatState {
  chat: Chat;
  nextMessageId: number;
  messages: Map<number, StoredMessage>;
}

/** A getUpdates request waiting for updates. */
export interface PendingPoll {
  /** Answers with whatever is available now if anything is. */
  wake(): void;
  /** Answers with these updates (close() passes []). */
  finish(updates: Update[]): void;
  /** Answers with an error (409 when a newer getUpdates arrives). */
  fail(err: BotApiError): void;
}

/** A webhook set with setWebhook. */
export interface WebhookState {
  url: string;
  secretToken?: string;
  maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
  delivering: boolean;
}

/** Everything the fake keeps per bot. */
export interface BotState {
  info: FakeBotInfo;
  me: UserFromGetMe;
  removed: boolean;
  closed: boolean;
  queue: Update[];
  nextUpdateId: number;
  allowedUpdates?: string[];
  webhook?: WebhookState;
  poll?: PendingPoll;
  chats: Map<number, ChatState>;
  files: Map<string, StoredFile>;
  nextFileNo: number;
  commands: Map<string, BotCommand[]>;
  callbackQueries: Set<string>;
}

/** Creates the state of a newly added bot. */
export function createBotState(info: FakeBotInfo): BotState {
  return {
    info,
    me: {
      id: info.id,
      is_bot: true,
      first_name: info.first_name,
      username: info.username,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    },
    removed: false,
    closed: false,
    queue: [],
    nextUpdateId: 1,
    chats: new Map(),
    files: new Map(),
    nextFileNo: 1,
    commands: new Map(),
    callbackQueries: new Set(),
  };
}

/** A plausible chat for an id nobody introduced: users are positive, groups negative, supergroups -100…. */
export function synthesizeChat(id: number): Chat {
  if (id > 0) return { id, type: 'private', first_name: `User ${id}` };
  if (id <= -1_000_000_000_000) return { id, type: 'supergroup', title: `Supergroup ${id}` };
  return { id, type: 'group', title: `Group ${id}` };
}

/** The state of a chat, created (from `chat` or synthesized) on first use. */
export function chatState(bot: BotState, id: number, chat?: Chat): ChatState {
  let state = bot.chats.get(id);
  if (!state) {
    state = { chat: chat ?? synthesizeChat(id), nextMessageId: 1, messages: new Map() };
    bot.chats.set(id, state);
  } else if (chat) {
    state.chat = chat;
  }
  return state;
}

/** Records a message in its chat and keeps the per-chat id counter ahead of it. */
export function storeMessage(bot: BotState, stored: StoredMessage): void {
  const state = chatState(bot, stored.message.chat.id, stored.message.chat);
  state.messages.set(stored.message.message_id, stored);
  state.nextMessageId = Math.max(state.nextMessageId, stored.message.message_id + 1);
}

/** Stores file content for a bot and returns its descriptor. */
export function addStoredFile(bot: BotState, content: Buffer, filePath?: string): StoredFile {
  const no = bot.nextFileNo++;
  const file: StoredFile = {
    file_id: `BQACAgI${bot.info.id}_${no}_${randomBytes(6).toString('hex')}`,
    file_unique_id: `AgAD${no}${randomBytes(3).toString('hex')}`,
    file_size: content.length,
    file_path: filePath ?? `documents/file_${no}.dat`,
    content,
  };
  bot.files.set(file.file_id, file);
  return file;
}

/** The update type of an update: the name of its one non-id field. */
export function updateKind(update: Update): string | undefined {
  return Object.keys(update).find((k) => k !== 'update_id');
}

/** Current Unix time in seconds, as `date` fields use. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
