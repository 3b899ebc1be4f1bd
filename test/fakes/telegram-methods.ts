/**
 * The method table of the fake Telegram Bot API: message methods plus getMe,
 * getUpdates and webhooks, chat actions, commands, files, callback queries and
 * getChat. Unknown methods are answered 404 by the caller.
 */
import type { BotCommand } from 'grammy/types';
import { isArray, isRecord } from './http-util.js';
import { chatParam, MESSAGE_METHODS, type MethodContext } from './telegram-messages.js';
import { jsonParam, strParam } from './telegram-params.js';
import { BotApiError } from './telegram-state.js';
import { deleteWebhook, getUpdates, getWebhookInfo, setWebhook } from './telegram-updates.js';

/** A result that carries the optional `description` field of a successful answer. */
export class Described {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

function commandsKey(ctx: MethodContext): string {
  const scope = jsonParam(ctx.params, 'scope') ?? { type: 'default' };
  return `${JSON.stringify(scope)}|${strParam(ctx.params, 'language_code') ?? ''}`;
}

function setMyCommands(ctx: MethodContext): true {
  const list = jsonParam(ctx.params, 'commands');
  if (!isArray(list)) throw new BotApiError(400, "Bad Request: can't parse commands JSON object");
  if (list.length > 100) throw new BotApiError(400, 'Bad Request: too many commands specified');
  const commands: BotCommand[] = [];
  for (const c of list) {
    const command = isRecord(c) && typeof c.command === 'string' ? c.command.replace(/^\//, '') : '';
    const description = isRecord(c) && typeof c.description === 'string' ? c.description : '';
    if (!/^[a-z0-9_]{1,32}$/.test(command)) throw new BotApiError(400, 'Bad Request: BOT_COMMAND_INVALID');
    if (description.length < 1 || description.length > 256) {
      throw new BotApiError(400, 'Bad Request: command description is empty or too long');
    }
    commands.push({ command, description });
  }
  ctx.bot.commands.set(commandsKey(ctx), commands);
  return true;
}

function getChat(ctx: MethodContext): Record<string, unknown> {
  const { chat } = chatParam(ctx);
  return {
    ...chat,
    accent_color_id: Math.abs(chat.id) % 7,
    max_reaction_count: 11,
    accepted_gift_types: {
      unlimited_gifts: true,
      limited_gifts: true,
      unique_gifts: true,
      premium_subscription: true,
      gifts_from_channels: true,
    },
  };
}

function getFile(ctx: MethodContext): Record<string, unknown> {
  const id = strParam(ctx.params, 'file_id') ?? '';
  const file = ctx.bot.files.get(id);
  if (!file) throw new BotApiError(400, 'Bad Request: invalid file_id');
  const { file_id, file_unique_id, file_size, file_path } = file;
  return { file_id, file_unique_id, file_size, file_path };
}

function answerCallbackQuery(ctx: MethodContext): true {
  const id = strParam(ctx.params, 'callback_query_id') ?? '';
  if (!ctx.bot.callbackQueries.delete(id)) {
    throw new BotApiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
  }
  return true;
}

/** Every method the fake implements, keyed by lower-case name (the Bot API ignores case). */
export const METHODS: Record<string, (ctx: MethodContext) => unknown> = {
  ...MESSAGE_METHODS,
  getme: (ctx) => ctx.bot.me,
  getupdates: (ctx) => getUpdates(ctx.bot, ctx.params, ctx.onAbort),
  setwebhook: (ctx) => {
    const r = setWebhook(ctx.bot, ctx.params);
    return new Described(r.result, r.description);
  },
  deletewebhook: (ctx) => {
    const r = deleteWebhook(ctx.bot, ctx.params);
    return new Described(r.result, r.description);
  },
  getwebhookinfo: (ctx) => getWebhookInfo(ctx.bot),
  setmycommands: setMyCommands,
  getmycommands: (ctx) => ctx.bot.commands.get(commandsKey(ctx)) ?? [],
  deletemycommands: (ctx) => {
    ctx.bot.commands.delete(commandsKey(ctx));
    return true;
  },
  sendchataction: (ctx) => {
    chatParam(ctx);
    const action = strParam(ctx.params, 'action') ?? '';
    if (!CHAT_ACTIONS.has(action)) throw new BotApiError(400, 'Bad Request: wrong parameter action in request');
    return true;
  },
  getchat: getChat,
  getfile: getFile,
  answercallbackquery: answerCallbackQuery,
  setmessagereaction: (ctx) => {
    chatParam(ctx);
    return true;
  },
  setmydescription: () => true,
  setmyshortdescription: () => true,
};
