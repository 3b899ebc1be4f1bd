import { createOperator, type NewOperator } from '../../core/auth/operators.js';
import { randomToken } from '../../core/crypto/tokens.js';
import { createApiKey, listApiKeys, revokeApiKeyAsOperator } from '../../core/tenancy/api-keys.js';
import { createInvite, parseDuration } from '../../core/tenancy/invites.js';
import { getTenantBySlug } from '../../core/tenancy/tenants.js';
import { type CliCommand, iso, optionalString, required, table, UsageError } from './runtime.js';
import { platformBotUsername } from './telegram.js';

/** `anvil admin create`: an operator account for the console. */
export const adminCreate: CliCommand = {
  name: 'admin create',
  usage: 'admin create --email E [--password-stdin] [--role owner|admin|viewer]',
  summary: 'create a console account (a strong password is generated unless given on stdin)',
  options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean' }, role: { type: 'string' } },
  async run(ctx, v) {
    const generated = v['password-stdin'] ? undefined : randomToken(15);
    const password = generated ?? (await ctx.readStdin()).replace(/\r?\n$/, '');
    const operator = await createOperator(
      ctx.db(),
      { email: required(v, 'email'), password, role: (optionalString(v, 'role') ?? 'owner') as NewOperator['role'] },
      { actor: 'cli' },
    );
    if (ctx.json) return { operator, ...(generated ? { password: generated } : {}) };
    ctx.out(`Created ${operator.role} ${operator.email}.`);
    if (generated) ctx.out(`Password (shown once): ${generated}`);
  },
};

/** `anvil invite create`: a single-use code and its deep link. */
export const inviteCreate: CliCommand = {
  name: 'invite create',
  usage: 'invite create --tenant SLUG [--role member|admin] [--ttl 72h]',
  summary: 'a single-use invite code and its t.me deep link',
  options: { tenant: { type: 'string' }, role: { type: 'string' }, ttl: { type: 'string' } },
  async run(ctx, v) {
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const role = optionalString(v, 'role') ?? 'member';
    if (role !== 'member' && role !== 'admin') throw new UsageError('--role is member or admin');
    const invite = await createInvite(
      db,
      tenant.id,
      { role, ttlMs: parseDuration(optionalString(v, 'ttl') ?? '72h') },
      { actor: 'cli' },
    );
    const own = await db.kysely
      .selectFrom('tenant_bots')
      .select('username')
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirst();
    const bot = own?.username ?? (await platformBotUsername(ctx.config()));
    const link = bot ? `https://t.me/${bot}?start=${invite.code}` : null;
    if (ctx.json) return { code: invite.code, role, expires_at: iso(invite.expiresAt), link, tenant: tenant.slug };
    ctx.out(`Invite for ${tenant.name} (${role}), valid until ${iso(invite.expiresAt)}:`);
    ctx.out(link ?? `send "/start ${invite.code}" to the bot`);
  },
};

/** An optional positive whole number flag (a per-minute limit), or a usage error. */
function perMinute(values: Record<string, string | boolean | undefined>, name: string): number | null {
  const text = optionalString(values, name);
  if (text === undefined) return null;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`--${name} is a whole number per minute, e.g. 60`);
  return Number(text);
}

/** `anvil apikey create`: the key is printed once and never stored. */
export const apikeyCreate: CliCommand = {
  name: 'apikey create',
  usage: 'apikey create --tenant SLUG --name N [--expires 30d] [--models m1,m2] [--rpm N] [--tpm N]',
  summary: 'a tenant API key for the model proxy (shown once)',
  options: {
    tenant: { type: 'string' },
    name: { type: 'string' },
    expires: { type: 'string' },
    models: { type: 'string' },
    rpm: { type: 'string' },
    tpm: { type: 'string' },
  },
  async run(ctx, v) {
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const expires = optionalString(v, 'expires');
    const models = optionalString(v, 'models');
    const { key, view } = await createApiKey(
      db,
      tenant.id,
      {
        name: required(v, 'name'),
        expiresAt: expires ? Date.now() + parseDuration(expires) : null,
        allowedModels: models
          ? models
              .split(',')
              .map((m) => m.trim())
              .filter(Boolean)
          : null,
        requestsPerMinute: perMinute(v, 'rpm'),
        tokensPerMinute: perMinute(v, 'tpm'),
      },
      { actor: 'cli' },
    );
    if (ctx.json) return { key, ...view };
    ctx.out(`API key "${view.name}" for ${tenant.name} (id ${view.id}). Shown once, store it now:`);
    ctx.out(key);
  },
};

/** `anvil apikey list`. */
export const apikeyList: CliCommand = {
  name: 'apikey list',
  usage: 'apikey list --tenant SLUG',
  summary: "a tenant's API keys (never the secrets)",
  options: { tenant: { type: 'string' } },
  async run(ctx, v) {
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const keys = await listApiKeys(db, tenant.id);
    if (ctx.json) return keys;
    if (!keys.length) return ctx.out(`${tenant.name} has no API keys.`);
    ctx.out(
      table(
        ['ID', 'NAME', 'CREATED', 'EXPIRES', 'REVOKED', 'LAST USED'],
        keys.map((k) => [k.id, k.name, iso(k.created_at), iso(k.expires_at), iso(k.revoked_at), iso(k.last_used_at)]),
      ),
    );
  },
};

/** `anvil apikey revoke`. */
export const apikeyRevoke: CliCommand = {
  name: 'apikey revoke',
  usage: 'apikey revoke ID',
  summary: 'revoke a key; the proxy refuses it from then on',
  options: {},
  positionals: ['ID'],
  async run(ctx, _v, [id]) {
    const key = await revokeApiKeyAsOperator(ctx.db(), id as string, { actor: 'cli' });
    if (ctx.json) return key;
    ctx.out(`Revoked API key ${key.id} ("${key.name}").`);
  },
};
