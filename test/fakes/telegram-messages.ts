/**
 * Message methods of the fake Telegram Bot API: sendMessage, editMessageText,
 * editMessageReplyMarkup, deleteMessage, sendMessageDraft, sendDocument and
 * sendPhoto, with the Bot API's validation and error texts.
 */
import type { Message, MessageEntity } from 'grammy/types';
import { renderText } from './telegram-html.js';
import { boolParam, intParam, isUploadedFile, jsonParam, strParam } from './telegram-params.js';
import {
  addStoredFile,
  BotApiError,
  type BotState,
  type ChatState,
  chatState,
  type StoredFile,
  type StoredMessage,
  storeMessage,
  unixNow,
} from './telegram-state.js';

/** What a method handler gets. */
export interface MethodContext {
  bot: BotState;
  params: Record<string, unknown>;
  strictAmpersand: boolean;
  /** Registers a callback run when the client disconnects before the answer. */
  onAbort(cb: () => void): void;
}

/** The chat named by `chat_id` (numeric ids only; @usernames are not known to the fake). */
export function chatParam(ctx: MethodContext, key = 'chat_id'): ChatState {
  const raw = ctx.params[key];
  if (raw === undefined || raw === '') throw new BotApiError(400, `Bad Request: ${key} is empty`);
  const id = intParam(ctx.params, key);
  if (id === undefined || id === 0) throw new BotApiError(400, 'Bad Request: chat not found');
  return chatState(ctx.bot, id);
}

function inlineMarkup(ctx: MethodContext): Message['reply_markup'] | undefined {
  const markup = jsonParam(ctx.params, 'reply_markup');
  if (typeof markup === 'object' && markup !== null && 'inline_keyboard' in markup) {
    return markup as Message['reply_markup'];
  }
  return undefined;
}

function replyTarget(ctx: MethodContext, chat: ChatState): Message | undefined {
  const rp = jsonParam(ctx.params, 'reply_parameters');
  let messageId = intParam(ctx.params, 'reply_to_message_id');
  let target = chat;
  let allowMissing = boolParam(ctx.params, 'allow_sending_without_reply');
  if (typeof rp === 'object' && rp !== null) {
    const p = rp as Record<string, unknown>;
    messageId = intParam(p, 'message_id');
    if (p.chat_id !== undefined) target = chatParam({ ...ctx, params: p });
    allowMissing = boolParam(p, 'allow_sending_without_reply');
  }
  if (messageId === undefined) return undefined;
  const stored = target.messages.get(messageId);
  if (stored && !stored.deleted) return stored.message;
  if (allowMissing) return undefined;
  throw new BotApiError(400, 'Bad Request: message to be replied not found');
}

/** The fields every message the bot sends shares. */
function outgoing(ctx: MethodContext, chat: ChatState): Message {
  const reply = replyTarget(ctx, chat);
  const markup = inlineMarkup(ctx);
  const thread = intParam(ctx.params, 'message_thread_id');
  const message: Message = {
    message_id: chat.nextMessageId++,
    from: { id: ctx.bot.me.id, is_bot: true, first_name: ctx.bot.me.first_name, username: ctx.bot.me.username },
    chat: chat.chat,
    date: unixNow(),
  };
  if (thread !== undefined) {
    message.message_thread_id = thread;
    message.is_topic_message = true;
  }
  if (reply) message.reply_to_message = { ...reply, reply_to_message: undefined } as Message['reply_to_message'];
  if (markup) message.reply_markup = markup;
  return message;
}

function withEntities(message: Message, text: string, entities: MessageEntity[], caption: boolean): void {
  if (caption) {
    if (text !== '') message.caption = text;
    if (entities.length > 0) message.caption_entities = entities;
  } else {
    message.text = text;
    if (entities.length > 0) message.entities = entities;
  }
}

function store(ctx: MethodContext, message: Message, kind: StoredMessage['kind'], raw: string): Message {
  const stored: StoredMessage = { message, fromBot: true, deleted: false, kind, raw };
  const parseMode = strParam(ctx.params, 'parse_mode');
  if (parseMode) stored.parseMode = parseMode;
  storeMessage(ctx.bot, stored);
  return message;
}

function sendMessage(ctx: MethodContext): Message {
  const chat = chatParam(ctx);
  const raw = strParam(ctx.params, 'text') ?? '';
  const rules = {
    limit: 4096,
    tooLong: 'Bad Request: message is too long',
    allowEmpty: false,
    strictAmpersand: ctx.strictAmpersand,
  };
  const parsed = renderText(raw, strParam(ctx.params, 'parse_mode'), jsonParam(ctx.params, 'entities'), rules);
  const message = outgoing(ctx, chat);
  withEntities(message, parsed.text, parsed.entities, false);
  const preview = jsonParam(ctx.params, 'link_preview_options');
  if (typeof preview === 'object' && preview !== null) message.link_preview_options = preview;
  return store(ctx, message, 'text', raw);
}

function editable(ctx: MethodContext): StoredMessage {
  if (ctx.params.inline_message_id !== undefined) throw new BotApiError(400, 'Bad Request: message to edit not found');
  const chat = chatParam(ctx);
  const id = intParam(ctx.params, 'message_id');
  if (id === undefined) throw new BotApiError(400, 'Bad Request: message identifier is not specified');
  const stored = chat.messages.get(id);
  if (!stored || stored.deleted) throw new BotApiError(400, 'Bad Request: message to edit not found');
  if (!stored.fromBot) throw new BotApiError(400, "Bad Request: message can't be edited");
  return stored;
}

const NOT_MODIFIED =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

function editMessageText(ctx: MethodContext): Message {
  const stored = editable(ctx);
  if (stored.message.text === undefined)
    throw new BotApiError(400, 'Bad Request: there is no text in the message to edit');
  const raw = strParam(ctx.params, 'text') ?? '';
  const rules = {
    limit: 4096,
    tooLong: 'Bad Request: message is too long',
    allowEmpty: false,
    strictAmpersand: ctx.strictAmpersand,
  };
  const parsed = renderText(raw, strParam(ctx.params, 'parse_mode'), jsonParam(ctx.params, 'entities'), rules);
  const markup = inlineMarkup(ctx);
  const before = JSON.stringify([
    stored.message.text,
    stored.message.entities ?? [],
    stored.message.reply_markup ?? null,
  ]);
  if (before === JSON.stringify([parsed.text, parsed.entities, markup ?? null]))
    throw new BotApiError(400, NOT_MODIFIED);
  const message: Message = { ...stored.message, text: parsed.text, edit_date: unixNow() };
  delete message.entities;
  delete message.reply_markup;
  withEntities(message, parsed.text, parsed.entities, false);
  if (markup) message.reply_markup = markup;
  stored.message = message;
  stored.raw = raw;
  const parseMode = strParam(ctx.params, 'parse_mode');
  if (parseMode) stored.parseMode = parseMode;
  else delete stored.parseMode;
  return message;
}

function editMessageReplyMarkup(ctx: MethodContext): Message {
  const stored = editable(ctx);
  const markup = inlineMarkup(ctx);
  if (JSON.stringify(stored.message.reply_markup ?? null) === JSON.stringify(markup ?? null)) {
    throw new BotApiError(400, NOT_MODIFIED);
  }
  const message: Message = { ...stored.message, edit_date: unixNow() };
  delete message.reply_markup;
  if (markup) message.reply_markup = markup;
  stored.message = message;
  return message;
}

function deleteMessage(ctx: MethodContext): true {
  const chat = chatParam(ctx);
  const id = intParam(ctx.params, 'message_id');
  if (id === undefined) throw new BotApiError(400, 'Bad Request: message identifier is not specified');
  const stored = chat.messages.get(id);
  if (!stored || stored.deleted) throw new BotApiError(400, 'Bad Request: message to delete not found');
  stored.deleted = true;
  return true;
}

function sendMessageDraft(ctx: MethodContext): true {
  const chat = chatParam(ctx);
  if (chat.chat.type !== 'private') throw new BotApiError(400, 'Bad Request: drafts can be sent only to private chats');
  const draftId = intParam(ctx.params, 'draft_id');
  if (draftId === undefined || draftId === 0) throw new BotApiError(400, 'Bad Request: draft_id must be non-zero');
  const rules = {
    limit: 4096,
    tooLong: 'Bad Request: message is too long',
    allowEmpty: true,
    strictAmpersand: ctx.strictAmpersand,
  };
  renderText(
    strParam(ctx.params, 'text') ?? '',
    strParam(ctx.params, 'parse_mode'),
    jsonParam(ctx.params, 'entities'),
    rules,
  );
  return true;
}

function fileFor(
  ctx: MethodContext,
  field: string,
  defaultPath: (no: number) => string,
): { file: StoredFile; name: string } {
  const value = ctx.params[field];
  if (isUploadedFile(value)) {
    return { file: addStoredFile(ctx.bot, value.content, defaultPath(ctx.bot.nextFileNo)), name: value.filename };
  }
  const ref = strParam(ctx.params, field);
  if (ref === undefined || ref === '') throw new BotApiError(400, `Bad Request: there is no ${field} in the request`);
  const known = ctx.bot.files.get(ref);
  if (known) return { file: known, name: known.file_path.split('/').pop() ?? 'file' };
  if (/^https?:\/\//.test(ref)) {
    const name = new URL(ref).pathname.split('/').pop() || 'file';
    return { file: addStoredFile(ctx.bot, Buffer.alloc(0), defaultPath(ctx.bot.nextFileNo)), name };
  }
  throw new BotApiError(400, 'Bad Request: wrong file identifier/HTTP URL specified');
}

function sendMedia(ctx: MethodContext, kind: 'document' | 'photo'): Message {
  const chat = chatParam(ctx);
  const raw = strParam(ctx.params, 'caption') ?? '';
  const rules = {
    limit: 1024,
    tooLong: 'Bad Request: message caption is too long',
    allowEmpty: true,
    strictAmpersand: ctx.strictAmpersand,
  };
  const parsed = renderText(raw, strParam(ctx.params, 'parse_mode'), jsonParam(ctx.params, 'caption_entities'), rules);
  const ext = kind === 'photo' ? 'jpg' : 'dat';
  const { file, name } = fileFor(ctx, kind, (no) => `${kind}s/file_${no}.${ext}`);
  const message = outgoing(ctx, chat);
  const ids = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size };
  if (kind === 'photo') message.photo = [{ ...ids, width: 90, height: 90 }];
  else message.document = { ...ids, file_name: name, mime_type: 'application/octet-stream' };
  withEntities(message, parsed.text, parsed.entities, true);
  return store(ctx, message, kind, raw);
}

/** Message-related methods, keyed by lower-case method name. */
export const MESSAGE_METHODS: Record<string, (ctx: MethodContext) => unknown> = {
  sendmessage: sendMessage,
  editmessagetext: editMessageText,
  editmessagereplymarkup: editMessageReplyMarkup,
  deletemessage: deleteMessage,
  sendmessagedraft: sendMessageDraft,
  senddocument: (ctx) => sendMedia(ctx, 'document'),
  sendphoto: (ctx) => sendMedia(ctx, 'photo'),
};
