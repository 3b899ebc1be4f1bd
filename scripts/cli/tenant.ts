import { listApiKeys } from '../../core/tenancy/api-keys.js';
import { listUsers } from '../../core/tenancy/members.js';
import {
  createTenant,
  getTenantBySlug,
  listTenantsAcrossAll,
  loadTenantContext,
  monthStart,
  setTenantStatus,
} from '../../core/tenancy/tenants.js';
import { usageReport } from '../../core/usage/ledger.js';
import { type CliCommand, iso, num, optionalString, required, table } from './runtime.js';
import { verifyBotToken } from './telegram.js';

/** `anvil tenant create`: onboards a tenant in one command. */
export const tenantCreate: CliCommand = {
  name: 'tenant create',
  usage: 'tenant create --name N --slug S [--plan P] [--telegram-token T]',
  summary: 'onboard a tenant (optionally with its own white-label bot)',
  options: {
    name: { type: 'string' },
    slug: { type: 'string' },
    plan: { type: 'string' },
    'telegram-token': { type: 'string' },
  },
  async run(ctx, v) {
    const token = optionalString(v, 'telegram-token');
    const bot = token ? await verifyBotToken(ctx.config(), token) : undefined;
    const tenant = await createTenant(
      ctx.db(),
      ctx.sealer(),
      { name: required(v, 'name'), slug: required(v, 'slug'), planId: optionalString(v, 'plan') ?? 'starter' },
      { actor: 'cli', ...(bot ? { bot } : {}) },
    );
    if (ctx.json) return { tenant, bot: bot ? { username: bot.username, telegram_bot_id: bot.telegramBotId } : null };
    ctx.out(`Created tenant ${tenant.name} (${tenant.slug}) on plan ${tenant.plan_id}.`);
    if (bot) ctx.out(`Its bot is @${bot.username}.`);
    ctx.out(`Next: npm run -s anvil -- invite create --tenant ${tenant.slug} --role admin`);
  },
};

/** `anvil tenant list`. */
export const tenantList: CliCommand = {
  name: 'tenant list',
  usage: 'tenant list',
  summary: 'every tenant with users and tokens this month',
  options: {},
  async run(ctx) {
    const rows = await listTenantsAcrossAll(ctx.db());
    if (ctx.json) return rows;
    if (!rows.length)
      return ctx.out('No tenants yet. Create one with: npm run -s anvil -- tenant create --name N --slug S');
    ctx.out(
      table(
        ['SLUG', 'NAME', 'PLAN', 'STATUS', 'USERS', 'TOKENS (MONTH)'],
        rows.map((t) => [t.slug, t.name, t.plan_id, t.status, t.users, num(t.tokens_this_month)]),
      ),
    );
  },
};

/** `anvil tenant show S`. */
export const tenantShow: CliCommand = {
  name: 'tenant show',
  usage: 'tenant show SLUG',
  summary: 'one tenant: limits, users, keys, bot, usage this month',
  options: {},
  positionals: ['SLUG'],
  async run(ctx, _v, [slug]) {
    const db = ctx.db();
    const { id } = await getTenantBySlug(db, slug as string);
    const { tenant, limits } = await loadTenantContext(db, id);
    const [users, keys, bot, usage] = await Promise.all([
      listUsers(db, id),
      listApiKeys(db, id),
      db.kysely.selectFrom('tenant_bots').select(['username', 'status']).where('tenant_id', '=', id).executeTakeFirst(),
      usageReport(db, id, monthStart(), new Date().toISOString().slice(0, 10)),
    ]);
    if (ctx.json) return { tenant, limits, users, api_keys: keys, bot: bot ?? null, usage_this_month: usage };
    ctx.out(
      `${tenant.name} (${tenant.slug})  status: ${tenant.status}${tenant.status_reason ? ` — ${tenant.status_reason}` : ''}`,
    );
    ctx.out(
      `plan ${limits.planId}: ${num(limits.maxUsers)} users, ${num(limits.messagesPerDay)} messages/day, ${num(limits.monthlyTokenBudget)} tokens/month, model ${limits.defaultModel}`,
    );
    ctx.out(`bot: ${bot ? `@${bot.username} (${bot.status})` : 'the platform bot'}`);
    ctx.out(
      `this month: ${num(usage.totals.requests)} requests, ${num(usage.totals.prompt_tokens + usage.totals.completion_tokens)} tokens`,
    );
    ctx.out(`\nusers (${users.length}):`);
    if (users.length)
      ctx.out(
        table(
          ['ID', 'NAME', 'ROLE', 'STATUS', 'SINCE'],
          users.map((u) => [u.id, u.display_name, u.role, u.status, iso(u.created_at)]),
        ),
      );
    ctx.out(`\nAPI keys (${keys.length}):`);
    if (keys.length)
      ctx.out(
        table(
          ['ID', 'NAME', 'CREATED', 'REVOKED'],
          keys.map((k) => [k.id, k.name, iso(k.created_at), iso(k.revoked_at)]),
        ),
      );
  },
};

/** Builds `tenant suspend` / `tenant resume`, which differ only in the status they set. */
function statusCommand(verb: 'suspend' | 'resume'): CliCommand {
  return {
    name: `tenant ${verb}`,
    usage: `tenant ${verb} SLUG${verb === 'suspend' ? ' [--reason TEXT]' : ''}`,
    summary: verb === 'suspend' ? "stop a tenant's bots and API keys" : 'let a suspended tenant in again',
    options: verb === 'suspend' ? { reason: { type: 'string' } } : {},
    positionals: ['SLUG'],
    async run(ctx, v, [slug]) {
      const db = ctx.db();
      const tenant = await getTenantBySlug(db, slug as string);
      const reason = optionalString(v, 'reason');
      await setTenantStatus(db, tenant.id, verb === 'suspend' ? 'suspended' : 'active', {
        actor: 'cli',
        ...(reason ? { reason } : {}),
      });
      if (ctx.json) return { slug: tenant.slug, status: verb === 'suspend' ? 'suspended' : 'active' };
      ctx.out(`${tenant.name} is now ${verb === 'suspend' ? 'suspended' : 'active'}.`);
    },
  };
}

export const tenantSuspend = statusCommand('suspend');
export const tenantResume = statusCommand('resume');
