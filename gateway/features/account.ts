import { Composer } from 'grammy';
import { endConversation } from '../../core/conversations.js';
import { userFeatures } from '../../core/tenancy/access.js';
import { chooseTeam, membershipsOf } from '../../core/tenancy/members.js';
import { loadTenantContext } from '../../core/tenancy/tenants.js';
import { usageOverview } from '../../core/usage/overview.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';
import { formatCount, placeOf, requireActive } from './guards.js';

/**
 * A member's own commands: `/new` (a fresh conversation in this chat or topic), `/team`
 * (on the platform bot, which of one's teams it talks for), `/whoami` (tenant, role,
 * status, plan and features) and `/usage` (own tokens this month, the team's remaining
 * monthly budget and today's messages).
 */
export function account(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('new', async (ctx) => {
    const member = await requireActive(ctx);
    if (!member || !ctx.chat) return;
    await endConversation(ctx.anvil.deps.db, member.tenant.id, member.user.id, placeOf(ctx));
    await ctx.reply(replies.newConversation);
  });

  // The platform bot talks for one team at a time; someone in several picks which.
  composer.command('team', async (ctx) => {
    const { member, deps, scope } = ctx.anvil;
    if (!member || !ctx.from) return;
    if (scope.kind === 'tenant') return void (await ctx.reply(replies.teamOnlyOne(member.tenant.name)));
    const wanted = ctx.match.trim();
    if (!wanted) {
      const teams = membershipsOf(deps.db, ctx.from.id);
      if (teams.length < 2) return void (await ctx.reply(replies.teamOnly(member.tenant.name)));
      const list = teams.map((t) => `• ${t.name} (${t.slug})${t.tenantId === member.tenant.id ? ' - current' : ''}`);
      return void (await ctx.reply([replies.teamList, ...list, replies.teamHow].join('\n')));
    }
    const choice = chooseTeam(deps.db, ctx.from.id, wanted);
    if (choice.kind === 'unknown') return void (await ctx.reply(replies.teamUnknown(wanted.slice(0, 64))));
    if (choice.kind === 'ambiguous') {
      return void (await ctx.reply(
        replies.teamAmbiguous(
          choice.teams[0]?.name ?? '',
          choice.teams.map((t) => t.slug),
        ),
      ));
    }
    ctx.anvil.log.info({ tenantId: choice.team.tenantId }, 'team chosen with /team');
    await ctx.reply(replies.teamChosen(choice.team.name));
  });

  // Works for paused users and teams too: it says what is paused.
  composer.command('whoami', async (ctx) => {
    const { member, deps } = ctx.anvil;
    if (!member) return;
    const { tenant, user } = member;
    const { plan, limits } = await loadTenantContext(deps.db, tenant.id);
    const handle = ctx.from?.username ? ` (@${ctx.from.username})` : '';
    const lines = [
      `You are ${user.display_name}${handle}, ${user.role === 'admin' ? 'an admin' : 'a member'} of ${tenant.name}.`,
      `Your access: ${user.status === 'active' ? 'active' : 'paused'}${tenant.status === 'active' ? '' : ` (${tenant.name} is paused)`}.`,
      `Plan: ${plan.name}. Features: ${userFeatures(limits, user).join(', ') || 'none'}.`,
      `User id: ${user.id}. Telegram id: ${ctx.from?.id ?? '?'}.`,
    ];
    const others =
      ctx.anvil.scope.kind === 'platform' && ctx.from
        ? membershipsOf(deps.db, ctx.from.id).filter((m) => m.tenantId !== tenant.id)
        : [];
    if (others.length > 0) lines.push(`Also in: ${others.map((m) => m.name).join(', ')} (/team to switch).`);
    await ctx.reply(lines.join('\n'));
  });

  composer.command('usage', async (ctx) => {
    const { member, deps } = ctx.anvil;
    if (!member) return;
    const { tenant, user } = member;
    const { limits } = await loadTenantContext(deps.db, tenant.id);
    const u = await usageOverview(deps.db, tenant.id, user.id, limits);
    const mine = u.user.prompt_tokens + u.user.completion_tokens;
    const team = u.tenant.prompt_tokens + u.tenant.completion_tokens;
    const budget =
      u.monthlyTokenBudget === null
        ? `${formatCount(team)} tokens used, no monthly limit`
        : `${formatCount(team)} of ${formatCount(u.monthlyTokenBudget)} tokens used, ${formatCount(u.remainingTokens ?? 0)} left`;
    const today =
      u.messagesPerDay === null
        ? `${formatCount(u.tenantMessagesToday)} messages (no daily limit)`
        : `${formatCount(u.tenantMessagesToday)} of ${formatCount(u.messagesPerDay)} messages`;
    const lines = [
      `Your usage this month (since ${u.from}): ${formatCount(mine)} tokens in ${formatCount(u.user.requests)} requests (${formatCount(u.user.prompt_tokens)} in, ${formatCount(u.user.completion_tokens)} out).`,
      `${tenant.name} this month: ${budget}.`,
      `Today (UTC): ${today} for the team, ${formatCount(u.userMessagesToday)} from you.`,
    ];
    await ctx.reply(lines.join('\n'));
  });
  return composer;
}
