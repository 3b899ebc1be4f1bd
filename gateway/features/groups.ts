import { Composer, type Context } from 'grammy';
import { AnvilError } from '../../core/errors.js';
import { disableGroup, enableGroup, type GroupVia } from '../../core/tenancy/groups.js';
import { findMemberByTelegram } from '../../core/tenancy/members.js';
import { getTenantBySlug } from '../../core/tenancy/tenants.js';
import type { BotContext, BotScope } from '../bot/context.js';
import { replies } from '../bot/replies.js';
import { isGroupChat } from './guards.js';

const viaOf = (scope: BotScope): GroupVia =>
  scope.kind === 'tenant' ? { via: 'tenant_bot', tenantId: scope.tenantId } : { via: 'platform' };

/**
 * The group policy. Groups are off until a tenant admin sends `/enable_group` there
 * (`/enable_group <team>` picks the team on the platform bot when the admin has several);
 * `/disable_group` turns them off again. In an enabled group the bot listens only to linked
 * users of the group's tenant, and only when they mention it, reply to it or send it a
 * command. Everyone else, and every message in a group that is off, is ignored silently:
 * a bot that answers strangers in a busy group would be noise, and its answers would tell
 * outsiders which team runs it. The one exception is a short hello when the bot is added.
 */
export function groups(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const inGroup = composer.chatType(['group', 'supergroup']);

  inGroup.command('enable_group', async (ctx) => {
    const { scope, deps, log } = ctx.anvil;
    let member = ctx.anvil.member;
    const slug = ctx.match.trim().toLowerCase();
    if (slug && scope.kind === 'platform') {
      const tenant = await getTenantBySlug(deps.db, slug).catch(() => undefined);
      member = tenant ? await findMemberByTelegram(deps.db, ctx.from.id, tenant.id) : undefined;
    }
    if (!member) return; // strangers are not answered in groups
    if (member.user.role !== 'admin' || member.user.status !== 'active' || member.tenant.status !== 'active') {
      await ctx.reply(replies.adminOnly);
      return;
    }
    try {
      const changed = await enableGroup(deps.db, member.tenant.id, ctx.chat.id, viaOf(scope), {
        title: ctx.chat.title ?? null,
        actorUserId: member.user.id,
      });
      log.info({ chatId: ctx.chat.id, tenantId: member.tenant.id, changed }, 'group enabled');
      await ctx.reply(
        changed ? replies.groupEnabled(member.tenant.name) : replies.groupAlreadyEnabled(member.tenant.name),
      );
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      await ctx.reply(err.message);
    }
  });

  inGroup.command('disable_group', async (ctx) => {
    const { scope, deps, member, group } = ctx.anvil;
    if (!member) return;
    if (member.user.role !== 'admin' || member.user.status !== 'active') {
      await ctx.reply(replies.adminOnly);
      return;
    }
    const off = group
      ? await disableGroup(deps.db, member.tenant.id, ctx.chat.id, viaOf(scope), { actorUserId: member.user.id })
      : false;
    await ctx.reply(off ? replies.groupDisabled : replies.groupNotEnabled);
  });

  composer.chatType('private').command(['enable_group', 'disable_group'], async (ctx) => {
    if (ctx.anvil.member) await ctx.reply(replies.groupOnlyCommand);
  });

  // Added to a group that is off: one hello, so whoever added the bot knows what to do.
  composer.on('my_chat_member', async (ctx, next) => {
    const { old_chat_member: before, new_chat_member: after } = ctx.myChatMember;
    const joined = ['left', 'kicked'].includes(before.status) && ['member', 'administrator'].includes(after.status);
    if (joined && isGroupChat(ctx.chat) && !ctx.anvil.group) {
      await ctx.reply(replies.groupHello).catch(() => undefined);
      return;
    }
    await next();
  });

  composer.use(async (ctx, next) => {
    if (!isGroupChat(ctx.chat)) return next();
    const { group, member } = ctx.anvil;
    if (!group || !member) return;
    if (ctx.callbackQuery || addressedToBot(ctx)) return next();
  });
  return composer;
}

/** A group message meant for the bot: a command, an @mention of it, or a reply to it. */
export function addressedToBot(ctx: Context): boolean {
  const msg = ctx.message;
  if (!msg) return false;
  if (msg.reply_to_message?.from?.id === ctx.me.id) return true;
  const text = msg.text ?? msg.caption ?? '';
  if (text.startsWith('/')) {
    const at = /^\/[A-Za-z0-9_]+@([A-Za-z0-9_]+)/.exec(text)?.[1];
    return !at || at.toLowerCase() === ctx.me.username.toLowerCase();
  }
  return mentionPattern(ctx.me.username).test(text);
}

/** Matches `@BotName` as a whole word, in any case. */
export function mentionPattern(username: string): RegExp {
  return new RegExp(`(^|[^A-Za-z0-9_])@${username}(?![A-Za-z0-9_])`, 'i');
}

/** The question of a group message without the bot's @mention. */
export function stripMention(text: string, username: string): string {
  return text
    .replace(new RegExp(mentionPattern(username).source, 'gi'), '$1')
    .replace(/\s{2,}/g, ' ')
    .trim();
}
