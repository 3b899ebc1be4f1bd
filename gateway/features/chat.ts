import { Composer } from 'grammy';
import {
  type ChatTurn,
  findMessageBySource,
  findOpenConversation,
  insertConversation,
  insertMessage,
  recentHistorySync,
} from '../../core/conversations.js';
import { newId } from '../../core/crypto/tokens.js';
import { userFeatures } from '../../core/tenancy/access.js';
import type { LinkedMember } from '../../core/tenancy/members.js';
import { tenantContextOf } from '../../core/tenancy/tenants.js';
import { messagesToday } from '../../core/usage/messages.js';
import { monthStartDay, tenantTokensSince } from '../../core/usage/overview.js';
import { AnswerStream } from '../bot/answer-stream.js';
import type { BotContext } from '../bot/context.js';
import { laneOf } from '../bot/control-lane.js';
import { replies } from '../bot/replies.js';
import { ModelCallError, type ModelFailure, type ModelStream } from '../model-client.js';
import { escapeHtml } from '../render/escape.js';
import { stripMention } from './groups.js';
import { formatCount, isGroupChat, messageSource, placeOf, requireActive } from './guards.js';
import { systemPrompt } from './system-prompt.js';

/** Tokens of earlier conversation sent with each question. */
export const HISTORY_TOKEN_BUDGET = 3_000;
/** Telegram shows "typing…" for about five seconds; it is renewed this often until text shows. */
const TYPING_EVERY_MS = 4_500;
/** How long a bot streams private answers by edits after its Bot API server had no drafts. */
const DRAFTS_RETRY_MS = 10 * 60_000;

/**
 * Answers a member's text: admission (team and user active, the chat feature, messages per
 * day, the monthly token budget), the conversation's token-budgeted history, one streamed
 * model call through the proxy shown as it is written (drafts in private chats, paced edits
 * in groups), and the final answer as Telegram HTML split into messages. `/stop` (the
 * control lane) aborts the call; what was written is kept and marked as stopped.
 */
export function chat(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.on('message:text', async (ctx) => {
    const { runtime } = ctx.anvil;
    const raw = ctx.message.text;
    if (raw.startsWith('/')) {
      if (ctx.chat.type === 'private' && ctx.anvil.member) await ctx.reply(replies.unknownCommand);
      return;
    }
    const member = await requireActive(ctx);
    if (!member) return;
    const question = isGroupChat(ctx.chat) ? stripMention(raw, ctx.me.username) : raw.trim();
    if (!question) return void (await ctx.reply(replies.emptyMention));
    const model = await admit(ctx, member);
    if (!model) return;
    const lane = laneOf(ctx) as string;
    const controller = runtime.generations.start(lane);
    if (!controller) return void (await ctx.reply(replies.stillAnswering));
    try {
      await answer(ctx, member, model, question, controller.signal);
    } finally {
      runtime.generations.end(lane, controller);
    }
  });
  return composer;
}

/** Checks what a plan allows before any model call; returns the model to use, or undefined after saying why not. */
async function admit(ctx: BotContext, member: LinkedMember): Promise<string | undefined> {
  const { db } = ctx.anvil.deps;
  const { tenant, user } = member;
  const { limits } = tenantContextOf(db, tenant);
  if (!userFeatures(limits, user).includes('chat')) return void (await ctx.reply(replies.noChatFeature));
  if (limits.messagesPerDay !== null) {
    // Counted as the proxy counts them (its ledger rows, written when a request ends). The
    // proxy stays the judge: answers still running are not in the count, and it refuses
    // those that pass here when the day is full.
    if (messagesToday(db, tenant.id, null) >= limits.messagesPerDay) {
      return void (await ctx.reply(replies.dailyLimit(limits.messagesPerDay)));
    }
  }
  if (limits.monthlyTokenBudget !== null) {
    if ((await tenantTokensSince(db, tenant.id, monthStartDay())) >= limits.monthlyTokenBudget) {
      return void (await ctx.reply(replies.budgetSpent(formatCount(limits.monthlyTokenBudget))));
    }
  }
  return limits.defaultModel;
}

async function answer(
  ctx: BotContext,
  member: LinkedMember,
  model: string,
  question: string,
  signal: AbortSignal,
): Promise<void> {
  const { deps, log, runtime } = ctx.anvil;
  const { tenant, user } = member;
  const chat = ctx.chat!;
  const group = isGroupChat(chat);
  const typing = keepTyping(ctx);
  // The rows are written in the background (one short transaction per event-loop turn, see
  // WriteQueue) and awaited before the handler ends, so the chat's next message (which waits
  // for this one) reads them in its history.
  const stored: Promise<void>[] = [];
  const store = (write: () => unknown) =>
    stored.push(
      deps.writes.write(write).then(
        () => undefined,
        (err: unknown) => log.error({ err }, 'could not store the conversation'),
      ),
    );
  try {
    const place = placeOf(ctx);
    // A message is processed again when a restart cut its answer short (a stored webhook
    // update) or came before its update was confirmed (long polling): the question is then
    // stored already, maybe the answer too, and neither is stored or asked twice.
    const source = messageSource(ctx);
    const asked = findMessageBySource(deps.db, tenant.id, source);
    const answeredBefore = asked && findMessageBySource(deps.db, tenant.id, `${source}:answer`);
    if (answeredBefore) {
      typing.stop();
      await answerStream(ctx, runtime, log).finish(answeredBefore.content);
      return;
    }
    let conversationId = asked?.conversationId ?? findOpenConversation(deps.db, tenant.id, user.id, place);
    const history = conversationId
      ? recentHistorySync(deps.db, tenant.id, conversationId, HISTORY_TOKEN_BUDGET, { names: group, before: asked })
      : [];
    if (!conversationId) {
      const started = { id: newId(), tenantId: tenant.id, userId: user.id, place, startedAt: Date.now() };
      conversationId = started.id;
      store(() => insertConversation(deps.db, started));
    }
    if (!asked) {
      const row = { conversationId, userId: user.id, role: 'user' as const, content: question, createdAt: Date.now() };
      store(() => insertMessage(deps.db, tenant.id, { ...row, source }));
    }
    const messages: ChatTurn[] = [
      { role: 'system', content: systemPrompt(tenant.name, user.display_name) },
      ...history,
      { role: 'user', content: group ? `${user.display_name}: ${question}` : question },
    ];

    let stream: ModelStream;
    try {
      stream = await deps.models.chatStream({ tenantId: tenant.id, userId: user.id }, model, messages, signal);
    } catch (err) {
      if (!(err instanceof ModelCallError)) throw err;
      typing.stop();
      await ctx.reply(failureReply(ctx, err.failure));
      return;
    }

    const out = answerStream(ctx, runtime, log);
    let text = '';
    let failure: ModelFailure | undefined;
    try {
      for await (const delta of stream.deltas) {
        typing.stop();
        text += delta;
        out.update(text);
      }
    } catch (err) {
      if (!(err instanceof ModelCallError)) throw err;
      failure = err.failure;
      log.warn({ failure, requestId: stream.requestId }, 'the answer stream failed midway');
    }
    typing.stop();
    const final = text.trim();
    if (final) {
      const answered = {
        conversationId,
        userId: null,
        role: 'assistant' as const,
        content: final,
        requestId: stream.requestId,
        createdAt: Date.now(),
        source: `${source}:answer`,
      };
      store(() => insertMessage(deps.db, tenant.id, answered));
    }
    if (failure && !final) {
      await ctx.reply(failureReply(ctx, failure));
      return;
    }
    const note = signal.aborted ? replies.stoppedNote : failure ? replies.interruptedNote : undefined;
    await out.finish(final, note && `<i>${escapeHtml(note)}</i>`);
  } finally {
    typing.stop();
    await Promise.all(stored);
  }
}

/** Where an answer is shown: drafts in a private chat, paced edits (replying to the question) in a group. */
function answerStream(
  ctx: BotContext,
  runtime: BotContext['anvil']['runtime'],
  log: BotContext['anvil']['log'],
): AnswerStream {
  const chat = ctx.chat!;
  const msg = ctx.msg;
  const group = isGroupChat(chat);
  return new AnswerStream({
    api: ctx.api,
    to: { chatId: chat.id, threadId: msg?.is_topic_message ? msg.message_thread_id : undefined },
    mode: chat.type === 'private' && Date.now() >= runtime.draftsMissingUntil ? 'draft' : 'edit',
    pacer: runtime.pacer,
    throttle: runtime.throttle,
    onDraftsMissing: () => {
      runtime.draftsMissingUntil = Date.now() + DRAFTS_RETRY_MS;
    },
    log,
    replyTo: group ? msg?.message_id : undefined,
  });
}

/** Shows "typing…" at once and renews it until stopped (when the first text shows). */
function keepTyping(ctx: BotContext): { stop(): void } {
  // Skipped while the bot is near Telegram's limit: the answer matters more.
  const send = () => {
    if (ctx.anvil.runtime.throttle.hasRoom()) void ctx.replyWithChatAction('typing').catch(() => undefined);
  };
  send();
  const timer = setInterval(send, TYPING_EVERY_MS);
  return { stop: () => clearInterval(timer) };
}

/** What a person is told when the model call failed; the log gets the detail and the request id. */
function failureReply(ctx: BotContext, f: ModelFailure): string {
  const { log } = ctx.anvil;
  if (f.kind === 'limit') {
    log.info({ failure: f }, 'model call refused by a plan limit');
    const detail = f.message.trim().replace(/\.$/, '');
    if (/reset/i.test(detail) || f.retryAfterSeconds === null) return replies.limit(detail);
    return replies.limitRetry(detail, inAbout(f.retryAfterSeconds));
  }
  if (f.kind === 'unavailable') {
    log.warn({ requestId: f.requestId ?? null, err: f.message }, 'model proxy busy or unreachable');
    return replies.busy;
  }
  log.error({ requestId: f.requestId ?? null, status: f.status, err: f.message }, 'model proxy refused the call');
  return replies.internal;
}

/** "in about 5 minutes", for a Retry-After in seconds. */
export function inAbout(seconds: number): string {
  const about = (n: number, unit: string) => `in about ${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds < 90) return about(Math.max(1, Math.round(seconds)), 'second');
  if (seconds < 90 * 60) return about(Math.round(seconds / 60), 'minute');
  return about(Math.round(seconds / 3600), 'hour');
}
