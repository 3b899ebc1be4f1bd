import { Composer } from 'grammy';
import {
  appendMessage,
  countUserMessagesSince,
  endConversation,
  openConversation,
  recentHistory,
} from '../../core/conversations.js';
import { loadTenantContext } from '../../core/tenancy/tenants.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';
import { splitMessage } from '../bot/split.js';
import { ModelCallError } from '../model-client.js';
import { systemPrompt } from './system-prompt.js';

/** Tokens of earlier conversation sent with each question. */
export const HISTORY_TOKEN_BUDGET = 3_000;

/**
 * Answers a linked member's text: admission (tenant and user active, messages/day), the
 * conversation's history, one model call through the proxy, the reply split to fit.
 */
export function chat(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('new', async (ctx) => {
    const { member, deps } = ctx.anvil;
    if (!member || !ctx.chat) return;
    await endConversation(deps.db, member.tenant.id, member.user.id, { chatId: ctx.chat.id });
    await ctx.reply(replies.newConversation);
  });

  composer.on('message:text', async (ctx) => {
    const { member, deps, log } = ctx.anvil;
    if (!member || ctx.message.text.startsWith('/')) return;
    const { tenant, user } = member;
    if (tenant.status !== 'active') return void (await ctx.reply(replies.tenantSuspended(tenant.name)));
    if (user.status !== 'active') return void (await ctx.reply(replies.userSuspended));
    const { limits } = await loadTenantContext(deps.db, tenant.id);
    if (limits.messagesPerDay !== null) {
      const today = new Date().setUTCHours(0, 0, 0, 0);
      if ((await countUserMessagesSince(deps.db, tenant.id, today)) >= limits.messagesPerDay) {
        return void (await ctx.reply(replies.dailyLimit(limits.messagesPerDay)));
      }
    }

    await ctx.replyWithChatAction('typing').catch(() => undefined);
    const place = { chatId: ctx.chat.id, threadId: ctx.message.message_thread_id ?? null };
    const conversationId = await openConversation(deps.db, tenant.id, user.id, place);
    const history = await recentHistory(deps.db, tenant.id, conversationId, HISTORY_TOKEN_BUDGET);
    await appendMessage(deps.db, tenant.id, {
      conversationId,
      userId: user.id,
      role: 'user',
      content: ctx.message.text,
    });

    let answer: string;
    try {
      const res = await deps.models.chat({ tenantId: tenant.id, userId: user.id }, limits.defaultModel, [
        { role: 'system', content: systemPrompt(tenant.name, user.display_name) },
        ...history,
        { role: 'user', content: ctx.message.text },
      ]);
      answer = res.text.trim() || '…';
    } catch (err) {
      if (!(err instanceof ModelCallError)) throw err;
      const f = err.failure;
      log.warn({ failure: f }, 'model call failed');
      await ctx.reply(
        f.kind === 'limit' ? replies.limit(f.message) : f.kind === 'unavailable' ? replies.busy : replies.internal,
      );
      return;
    }
    await appendMessage(deps.db, tenant.id, { conversationId, userId: null, role: 'assistant', content: answer });
    for (const piece of splitMessage(answer)) await ctx.reply(piece);
  });
  return composer;
}
