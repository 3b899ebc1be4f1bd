import { Composer } from 'grammy';
import { AnvilError } from '../../core/errors.js';
import { redeemInvite } from '../../core/tenancy/invites.js';
import { requestAccess } from '../../core/tenancy/pairing.js';
import { getTenant, slugSchema } from '../../core/tenancy/tenants.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';
import { identityOf } from './guards.js';
import { announceRequest } from './pairing.js';

/** The onboarding line for an unknown sender: white-label bots name their tenant. */
export async function onboardingText(ctx: BotContext): Promise<string> {
  const { scope, deps } = ctx.anvil;
  if (scope.kind === 'platform') return replies.onboarding;
  const tenant = await getTenant(deps.db, scope.tenantId).catch(() => undefined);
  return tenant ? replies.onboardingWhiteLabel(tenant.name) : replies.onboarding;
}

/**
 * How people get in: `/start <code>` redeems an invite (deep link `t.me/<bot>?start=<code>`;
 * a white-label bot accepts only its own tenant's codes), `/request [team]` asks a tenant's
 * admins for access (pairing; the team is implied on a white-label bot). Any other message
 * from an unknown sender gets one onboarding line and never reaches the model.
 */
export function onboarding(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const priv = composer.chatType('private');

  priv.command('start', async (ctx) => {
    const code = ctx.match.trim();
    const { member, scope, deps, log, runtime } = ctx.anvil;
    if (!code) {
      if (!member) return void (await ctx.reply(await onboardingText(ctx)));
      if (member.user.role === 'admin') await runtime.menus.showAdminMenu(ctx.api, ctx.chat.id);
      await ctx.reply(replies.welcomeBack(member.tenant.name));
      return;
    }
    try {
      const done = await redeemInvite(deps.db, code, identityOf(ctx.from), {
        onlyTenantId: scope.kind === 'tenant' ? scope.tenantId : undefined,
      });
      log.info({ tenantId: done.tenantId, userId: done.user.id }, 'invite redeemed');
      if (done.user.role === 'admin') await runtime.menus.showAdminMenu(ctx.api, ctx.chat.id);
      await ctx.reply(replies.welcome(done.tenantName, done.user.display_name));
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      log.info({ code: err.code }, 'invite refused');
      await ctx.reply(err.message);
    }
  });

  priv.command('request', async (ctx) => {
    const { scope, deps, log } = ctx.anvil;
    const arg = ctx.match.trim().toLowerCase();
    let ref: { id: string } | { slug: string };
    if (scope.kind === 'tenant') ref = { id: scope.tenantId };
    else if (slugSchema.safeParse(arg).success) ref = { slug: arg };
    else return void (await ctx.reply(replies.requestUsage));
    const outcome = await requestAccess(deps.db, ref, identityOf(ctx.from));
    log.info({ outcome: outcome.kind }, 'access requested');
    const team = 'slug' in ref ? ref.slug : (await getTenant(deps.db, ref.id)).name;
    switch (outcome.kind) {
      case 'created':
        await announceRequest(ctx.api, deps.db, log, outcome.request, outcome.tenant.name);
        await ctx.reply(replies.requestSent(team));
        return;
      case 'already_pending':
        // On the platform bot, answered like a new request so a repeat cannot probe for teams.
        await ctx.reply(
          scope.kind === 'tenant' ? replies.requestPending(outcome.tenant.name) : replies.requestSent(team),
        );
        return;
      case 'already_member':
        await ctx.reply(replies.alreadyMember(outcome.tenant.name));
        return;
      case 'too_many':
        await ctx.reply(replies.requestTooMany);
        return;
      case 'dropped':
        // Said exactly as for a real request: the bot does not tell strangers which teams exist.
        await ctx.reply(replies.requestSent(team));
        return;
    }
  });

  // Everything else from an unknown sender: one line in a private chat, no model call.
  composer.use(async (ctx, next) => {
    if (ctx.anvil.member) return next();
    if (ctx.chat?.type === 'private' && ctx.message) await ctx.reply(await onboardingText(ctx));
    else if (ctx.callbackQuery) await ctx.answerCallbackQuery().catch(() => undefined);
  });
  return composer;
}
