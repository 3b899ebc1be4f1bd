import type { MiddlewareFn } from 'grammy';
import { findMemberByTelegram } from '../../core/tenancy/members.js';
import type { BotContext, BotScope, GatewayDeps } from '../bot/context.js';

/**
 * Puts Anvil's context on every update and resolves the sender to a tenant user: any
 * tenant for the platform bot, only its own tenant for a white-label bot.
 */
export function resolveMember(deps: GatewayDeps, scope: BotScope): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const tenantId = scope.kind === 'tenant' ? scope.tenantId : undefined;
    const member = ctx.from ? await findMemberByTelegram(deps.db, ctx.from.id, tenantId) : undefined;
    ctx.anvil = {
      scope,
      deps,
      member,
      log: deps.logger.child({ updateId: ctx.update.update_id, tenantId: member?.tenant.id }),
    };
    await next();
  };
}
