import { getTenantBot, removeTenantBot, setTenantBot } from '../../core/tenancy/bots.js';
import { getTenantBySlug } from '../../core/tenancy/tenants.js';
import { type CliCommand, iso, required } from './runtime.js';
import { verifyBotToken } from './telegram.js';

/** `anvil tenant bot set`: gives a tenant its own bot, or replaces the one it has. */
export const tenantBotSet: CliCommand = {
  name: 'tenant bot set',
  usage: 'tenant bot set --tenant SLUG --telegram-token T',
  summary: "give a tenant its own white-label bot, or replace its bot's token (checked with Telegram)",
  options: { tenant: { type: 'string' }, 'telegram-token': { type: 'string' } },
  async run(ctx, v) {
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const bot = await verifyBotToken(ctx.config(), required(v, 'telegram-token'));
    const result = await setTenantBot(db, ctx.sealer(), tenant.id, bot, { actor: 'cli' });
    if (ctx.json)
      return { tenant: tenant.slug, change: result.change, bot: result.bot, previous: result.previous ?? null };
    const lines = {
      added: `@${bot.username} is now ${tenant.name}'s bot.`,
      token_replaced: `@${bot.username} of ${tenant.name} has its new token.`,
      bot_replaced: `@${bot.username} replaces @${result.previous?.username ?? '?'} as ${tenant.name}'s bot.`,
    };
    ctx.out(lines[result.change]);
    ctx.out('A running gateway starts it within a few seconds.');
  },
};

/** `anvil tenant bot remove`: the tenant's users go back to the platform bot. */
export const tenantBotRemove: CliCommand = {
  name: 'tenant bot remove',
  usage: 'tenant bot remove --tenant SLUG',
  summary: "remove a tenant's own bot and its stored token (its users use the platform bot)",
  options: { tenant: { type: 'string' } },
  async run(ctx, v) {
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const removed = await removeTenantBot(db, tenant.id, { actor: 'cli' });
    if (ctx.json) return { tenant: tenant.slug, removed };
    ctx.out(
      `Removed @${removed.username ?? removed.telegram_bot_id} from ${tenant.name}. A running gateway stops it within a few seconds.`,
    );
  },
};

/** `anvil tenant bot show`: the bot and its health as the gateway last recorded it. */
export const tenantBotShow: CliCommand = {
  name: 'tenant bot show',
  usage: 'tenant bot show --tenant SLUG',
  summary: "a tenant's own bot and its health (unhealthy: why)",
  options: { tenant: { type: 'string' } },
  async run(ctx, v) {
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const bot = await getTenantBot(db, tenant.id);
    if (ctx.json) return { tenant: tenant.slug, bot: bot ?? null };
    if (!bot) return ctx.out(`${tenant.name} has no bot of its own; its users talk to the platform bot.`);
    ctx.out(
      `@${bot.username ?? bot.telegram_bot_id} (${bot.status}${bot.status_reason ? `: ${bot.status_reason}` : ''})`,
    );
    ctx.out(`since ${iso(bot.created_at)}, last change ${iso(bot.updated_at)}`);
  },
};

/** The bot commands, for `scripts/anvil.ts`'s COMMANDS list. */
export const botCommands: CliCommand[] = [tenantBotSet, tenantBotRemove, tenantBotShow];
