import type { MiddlewareFn } from 'grammy';
import { findGroupByChat } from '../../core/tenancy/groups.js';
import { findMemberByTelegramSync } from '../../core/tenancy/members.js';
import type { BotContext, BotRuntime, BotScope, GatewayDeps } from '../bot/context.js';
import { isGroupChat } from './guards.js';

/**
 * Puts Anvil's context on every update and resolves the sender to a tenant user: any
 * tenant for the platform bot, only its own tenant for a white-label bot, and in an
 * enabled group only the group's tenant.
 */
export function resolveMember(deps: GatewayDeps, scope: BotScope, runtime: BotRuntime): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    let tenantId = scope.kind === 'tenant' ? scope.tenantId : undefined;
    const group =
      ctx.chat && isGroupChat(ctx.chat)
        ? await findGroupByChat(
            deps.db,
            ctx.chat.id,
            scope.kind === 'tenant' ? { via: 'tenant_bot', tenantId: scope.tenantId } : { via: 'platform' },
          )
        : undefined;
    if (group) tenantId = group.tenant_id;
    const member = ctx.from ? findMemberByTelegramSync(deps.db, ctx.from.id, tenantId) : undefined;
    ctx.anvil = {
      scope,
      deps,
      member,
      group,
      runtime,
      log: deps.logger.child({ updateId: ctx.update.update_id, tenantId: member?.tenant.id }),
    };
    await next();
  };
}
