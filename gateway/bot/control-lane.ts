import type { Context } from 'grammy';
import { addressedToBot } from '../features/groups.js';
import { isGroupChat, placeOf } from '../features/guards.js';

/** Commands that must never wait behind a chat's running answer. */
export const CONTROL_COMMANDS: ReadonlySet<string> = new Set(['stop', 'help']);

/**
 * The control command an update carries (`/stop`, `/help`, also as `/stop@OurBot`), or
 * undefined. A command addressed to another bot (`/stop@OtherBot`) is not ours.
 */
export function controlCommand(ctx: Context): string | undefined {
  const text = ctx.message?.text;
  if (!text) return undefined;
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s|$)/.exec(text);
  const command = m?.[1]?.toLowerCase();
  if (!command || !CONTROL_COMMANDS.has(command)) return undefined;
  const addressee = m?.[2];
  if (addressee && ctx.me?.username && addressee.toLowerCase() !== ctx.me.username.toLowerCase()) return undefined;
  return command;
}

/**
 * Where a conversation runs: a chat, or one forum topic of a group ("chat:topic"), since
 * each topic has a conversation of its own. Undefined for updates without a chat.
 */
export function laneOf(ctx: Context): string | undefined {
  if (!ctx.chat) return undefined;
  const { chatId, threadId } = placeOf(ctx);
  return threadId === null ? String(chatId) : `${chatId}:${threadId}`;
}

/**
 * The `sequentialize` constraint of every Anvil bot: the updates of one chat (one topic in
 * a forum group) run in order, while other topics answer beside them. Control commands take
 * no constraint and so run at once, beside a running answer (that is how `/stop` can end
 * it). Group messages not meant for the bot, which it ignores, need not wait their turn
 * (nor count in the lane's backlog, see LaneBacklog). Updates without a chat are not ordered.
 */
export function sequentialKey(ctx: Context): string | undefined {
  if (controlCommand(ctx)) return undefined;
  if (ctx.message && isGroupChat(ctx.chat) && !addressedToBot(ctx)) return undefined;
  return laneOf(ctx);
}
