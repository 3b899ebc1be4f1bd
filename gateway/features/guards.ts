import type { Context } from 'grammy';
import type { Chat, User } from 'grammy/types';
import type { ChatPlace } from '../../core/conversations.js';
import type { TelegramIdentity } from '../../core/tenancy/invites.js';
import type { LinkedMember } from '../../core/tenancy/members.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';

/** True for groups and supergroups (channels are not served). */
export function isGroupChat(chat: Chat | undefined): boolean {
  return chat?.type === 'group' || chat?.type === 'supergroup';
}

/**
 * Where an update's conversation lives: the private chat, or the group and its forum topic
 * (shared by the group's members).
 */
export function placeOf(ctx: Context): ChatPlace {
  const msg = ctx.msg;
  const group = isGroupChat(ctx.chat);
  return {
    chatId: ctx.chat?.id ?? 0,
    threadId: group && msg?.is_topic_message ? (msg.message_thread_id ?? null) : null,
    shared: group,
  };
}

/**
 * Where a message came from, for what must be stored once however often it is processed
 * (a replayed update): 'telegram:<bot id>:<chat id>:<message id>'.
 */
export function messageSource(ctx: Context): string {
  return `telegram:${ctx.me.id}:${ctx.chat?.id}:${ctx.msg?.message_id}`;
}

/** The Telegram account behind an update, as invites and pairing record it. */
export function identityOf(from: User): TelegramIdentity {
  return {
    telegramUserId: from.id,
    username: from.username,
    displayName: [from.first_name, from.last_name].filter(Boolean).join(' '),
  };
}

/**
 * The sender as an active member of an active tenant, or undefined after telling them why
 * not (paused team, paused user). Unknown senders are left to onboarding: nothing is said.
 */
export async function requireActive(ctx: BotContext): Promise<LinkedMember | undefined> {
  const { member } = ctx.anvil;
  if (!member) return undefined;
  if (member.tenant.status !== 'active') {
    await ctx.reply(replies.tenantSuspended(member.tenant.name));
    return undefined;
  }
  if (member.user.status !== 'active') {
    await ctx.reply(replies.userSuspended);
    return undefined;
  }
  return member;
}

/** The sender as an active admin of an active tenant, or undefined after telling them why not. */
export async function requireAdmin(ctx: BotContext): Promise<LinkedMember | undefined> {
  const member = await requireActive(ctx);
  if (!member) return undefined;
  if (member.user.role !== 'admin') {
    await ctx.reply(replies.adminOnly);
    return undefined;
  }
  return member;
}

/** A UTC time for people: "2026-11-25 14:00 UTC". */
export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A count with thousands separators: 2,000,000. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
