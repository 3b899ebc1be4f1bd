import { type Api, GrammyError } from 'grammy';
import { htmlToPlainText } from '../render/escape.js';
import { splitTelegramHtml } from '../render/split.js';

/** A chat, and the forum topic within it, where the bot writes. */
export interface ChatTarget {
  chatId: number;
  threadId?: number | undefined;
}

/**
 * Telegram refused the formatting ("can't parse entities", or formatting too large in total,
 * "ENTITIES_TOO_LONG"): the text must go as plain text.
 */
export function isParseError(err: unknown): boolean {
  return (
    err instanceof GrammyError &&
    err.error_code === 400 &&
    /can't parse entities|entities[ _]too[ _]long/i.test(err.description)
  );
}

/** Telegram said an edit changes nothing; harmless. */
export function isNotModified(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description);
}

/** grammY's own AbortSignal type (from its fetch shim); Node's native signals work with it. */
type ApiSignal = NonNullable<Parameters<Api['getMe']>[0]>;
const apiSignal = (signal: AbortSignal | undefined) => signal as unknown as ApiSignal | undefined;

const thread = (to: ChatTarget) => (to.threadId !== undefined ? { message_thread_id: to.threadId } : {});
const noPreview = { link_preview_options: { is_disabled: true } };

/**
 * Sends one piece of Telegram HTML (at most 4096 visible characters) as a message. If Telegram
 * refuses the markup, the same text goes again as plain text, so a formatting problem never
 * reaches the person as an error. Returns the message id.
 */
export async function sendHtml(
  api: Api,
  to: ChatTarget,
  html: string,
  replyTo?: number,
  signal?: AbortSignal,
): Promise<number> {
  const s = apiSignal(signal);
  const other = {
    ...thread(to),
    ...noPreview,
    ...(replyTo !== undefined ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
  };
  try {
    return (await api.sendMessage(to.chatId, html, { ...other, parse_mode: 'HTML' }, s)).message_id;
  } catch (err) {
    if (!isParseError(err)) throw err;
    return (await api.sendMessage(to.chatId, htmlToPlainText(html), other, s)).message_id;
  }
}

/**
 * Replaces a message's text with a piece of Telegram HTML, falling back to plain text like
 * `sendHtml`. `signal` abandons the call (and auto-retry's wait for it).
 */
export async function editHtml(
  api: Api,
  to: ChatTarget,
  messageId: number,
  html: string,
  signal?: AbortSignal,
): Promise<void> {
  const s = apiSignal(signal);
  try {
    try {
      await api.editMessageText(to.chatId, messageId, html, { ...noPreview, parse_mode: 'HTML' }, s);
    } catch (err) {
      if (!isParseError(err)) throw err;
      await api.editMessageText(to.chatId, messageId, htmlToPlainText(html), noPreview, s);
    }
  } catch (err) {
    if (!isNotModified(err)) throw err;
  }
}

/**
 * Shows (or updates) a streamed draft in a private chat, falling back to plain text like
 * `sendHtml`. `signal` abandons the call (and auto-retry's wait for it).
 */
export async function sendDraft(
  api: Api,
  to: ChatTarget,
  draftId: number,
  html: string,
  signal?: AbortSignal,
): Promise<void> {
  const s = apiSignal(signal);
  try {
    await api.sendMessageDraft(to.chatId, draftId, html, { ...thread(to), parse_mode: 'HTML' }, s);
  } catch (err) {
    if (!isParseError(err)) throw err;
    await api.sendMessageDraft(to.chatId, draftId, htmlToPlainText(html), thread(to), s);
  }
}

/** Sends Telegram HTML of any length as as many messages as it takes; returns their ids. */
export async function sendLongHtml(api: Api, to: ChatTarget, html: string, replyTo?: number): Promise<number[]> {
  const ids: number[] = [];
  for (const piece of splitTelegramHtml(html))
    ids.push(await sendHtml(api, to, piece, ids.length === 0 ? replyTo : undefined));
  return ids;
}
