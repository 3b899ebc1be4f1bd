import { Composer } from 'grammy';
import { AnvilError } from '../../core/errors.js';
import { redeemInvite } from '../../core/tenancy/invites.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';

/**
 * `/start <code>` redeems an invite (deep link `t.me/<bot>?start=<code>`); an unknown
 * sender gets one onboarding line and never reaches the model.
 */
export function onboarding(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const priv = composer.chatType('private');

  priv.command('start', async (ctx) => {
    const code = ctx.match.trim();
    const { member, scope, deps, log } = ctx.anvil;
    if (!code) {
      await ctx.reply(member ? replies.welcomeBack(member.tenant.name) : replies.onboarding);
      return;
    }
    const from = ctx.from;
    try {
      const done = await redeemInvite(
        deps.db,
        code,
        {
          telegramUserId: from.id,
          username: from.username,
          displayName: [from.first_name, from.last_name].filter(Boolean).join(' '),
        },
        { onlyTenantId: scope.kind === 'tenant' ? scope.tenantId : undefined },
      );
      log.info({ tenantId: done.tenantId, userId: done.user.id }, 'invite redeemed');
      await ctx.reply(replies.welcome(done.tenantName, done.user.display_name));
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      log.info({ code: err.code }, 'invite refused');
      await ctx.reply(err.message);
    }
  });

  // Everything else from an unknown sender: one line, no model call.
  composer.use(async (ctx, next) => {
    if (ctx.anvil.member) return next();
    if (ctx.chat?.type === 'private' && ctx.message) await ctx.reply(replies.onboarding);
  });
  return composer;
}
