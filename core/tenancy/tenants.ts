import { sql } from 'kysely';
import { z } from 'zod';
import { audit } from '../audit.js';
import type { Sealer } from '../crypto/seal.js';
import { newId } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { Plan, Tenant } from '../db/schema.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { type EffectiveLimits, effectiveLimits } from './plans.js';

/** A tenant slug: lower-case letters, digits and inner hyphens, 2–40 characters. */
export const slugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$/, 'a slug is 2–40 lower-case letters, digits or hyphens, e.g. abc-steel');

/** Input of `createTenant`. */
export const newTenantSchema = z.object({
  name: z.string().trim().min(1, 'a tenant needs a name').max(120),
  slug: slugSchema,
  planId: z.string().default('starter'),
});
export type NewTenant = z.input<typeof newTenantSchema>;

/** A white-label bot checked with Telegram's getMe before it is stored. */
export interface VerifiedBot {
  token: string;
  telegramBotId: number;
  username: string;
}

/** Sealing context of a tenant bot's token, binding the ciphertext to its row. */
export const botTokenContext = (botId: string): string => `tenant_bot:${botId}`;

/**
 * Inserts a tenant's white-label bot: its token sealed under the new row's id, then the
 * row, active. Runs inside the caller's transaction; returns the new bot id.
 */
export function insertTenantBot(db: Db, sealer: Sealer, tenantId: string, bot: VerifiedBot, t: number): string {
  const botId = newId();
  const secretId = newId();
  db.run(
    db.kysely.insertInto('sealed_secrets').values({
      id: secretId,
      tenant_id: tenantId,
      purpose: 'telegram_bot_token',
      sealed: sealer.seal(bot.token, botTokenContext(botId)),
      created_at: t,
      updated_at: t,
    }),
  );
  db.run(
    db.kysely.insertInto('tenant_bots').values({
      id: botId,
      tenant_id: tenantId,
      telegram_bot_id: bot.telegramBotId,
      username: bot.username,
      token_secret_id: secretId,
      status: 'active',
      status_reason: null,
      created_at: t,
      updated_at: t,
    }),
  );
  return botId;
}

/**
 * Onboards a tenant in one transaction: the tenant row, its white-label bot (token sealed)
 * when given, and the audit entry. A duplicate slug or bot is refused and nothing is written.
 */
export async function createTenant(
  db: Db,
  sealer: Sealer,
  input: NewTenant,
  opts: { actor: string; bot?: VerifiedBot },
): Promise<Tenant> {
  const parsed = newTenantSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(parsed.error.issues.map((i) => i.message).join('; '));
  const { name, slug, planId } = parsed.data;
  return db.transaction(() => {
    const plan = db.first(db.kysely.selectFrom('plans').select('id').where('id', '=', planId));
    if (!plan) {
      const plans = db.all(db.kysely.selectFrom('plans').select('id'));
      throw new ValidationError(
        `unknown plan "${planId}"; plans are: ${plans.map((p) => p.id).join(', ')}`,
        'unknown_plan',
      );
    }
    const taken = db.first(db.kysely.selectFrom('tenants').select('id').where('slug', '=', slug));
    if (taken) throw new ConflictError(`a tenant with slug "${slug}" already exists`, 'slug_taken');
    const t = Date.now();
    const id = newId();
    // Overrides of the plan's limits start unset (NULL: the plan's value applies).
    db.run(
      db.kysely
        .insertInto('tenants')
        .values({ id, slug, name, plan_id: planId, status: 'active', created_at: t, updated_at: t }),
    );
    const tenant = db.first(db.kysely.selectFrom('tenants').selectAll().where('id', '=', id)) as Tenant;
    if (opts.bot) {
      const dup = db.first(
        db.kysely.selectFrom('tenant_bots').select('tenant_id').where('telegram_bot_id', '=', opts.bot.telegramBotId),
      );
      if (dup) throw new ConflictError(`bot @${opts.bot.username} already belongs to another tenant`, 'bot_taken');
      insertTenantBot(db, sealer, tenant.id, opts.bot, t);
    }
    audit(db, {
      actor: opts.actor,
      tenantId: tenant.id,
      action: 'tenant.create',
      target: slug,
      detail: { plan: planId, bot: opts.bot?.username ?? null },
    });
    return tenant;
  });
}

/** Finds a tenant by slug or throws NotFoundError. */
export async function getTenantBySlug(db: Db, slug: string): Promise<Tenant> {
  const t = await db.kysely.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  if (!t) throw new NotFoundError(`no tenant with slug "${slug}"`, 'tenant_not_found');
  return t;
}

/** Finds a tenant by id or throws NotFoundError. */
export async function getTenant(db: Db, tenantId: string): Promise<Tenant> {
  const t = await db.kysely.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
  if (!t) throw new NotFoundError('no such tenant', 'tenant_not_found');
  return t;
}

/** A tenant with its plan and effective limits. */
export interface TenantContext {
  tenant: Tenant;
  plan: Plan;
  limits: EffectiveLimits;
}

/** Loads a tenant, its plan and its effective limits. */
export async function loadTenantContext(db: Db, tenantId: string): Promise<TenantContext> {
  const tenant = db.prepare<Tenant>('SELECT * FROM tenants WHERE id = ?').get(tenantId);
  if (!tenant) throw new NotFoundError('no such tenant', 'tenant_not_found');
  return tenantContextOf(db, tenant);
}

/**
 * The plan and effective limits of a tenant row already read (the gateway has it from the
 * sender's membership of the same update), synchronously.
 */
export function tenantContextOf(db: Db, tenant: Tenant): TenantContext {
  const plan = db.prepare<Plan>('SELECT * FROM plans WHERE id = ?').get(tenant.plan_id);
  if (!plan) throw new NotFoundError(`tenant ${tenant.slug} is on plan "${tenant.plan_id}", which does not exist`);
  return { tenant, plan, limits: effectiveLimits(tenant, plan) };
}

/** One line of the operator's tenant list. */
export interface TenantSummary {
  id: string;
  slug: string;
  name: string;
  plan_id: string;
  status: string;
  users: number;
  tokens_this_month: number;
  created_at: number;
}

/** First day of the current UTC month as YYYY-MM-DD. */
export function monthStart(at = new Date()): string {
  return `${at.toISOString().slice(0, 7)}-01`;
}

/**
 * Operator-level: every tenant with its user count and this month's tokens (from the
 * daily rollups, never the raw ledger).
 */
export async function listTenantsAcrossAll(db: Db): Promise<TenantSummary[]> {
  const since = monthStart();
  return db.kysely
    .selectFrom('tenants as t')
    .select((eb) => [
      't.id',
      't.slug',
      't.name',
      't.plan_id',
      't.status',
      't.created_at',
      eb
        .selectFrom('tenant_users as u')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('u.tenant_id', '=', 't.id')
        .as('users'),
      eb
        .selectFrom('usage_daily as d')
        .select(sql<number>`coalesce(sum(d.prompt_tokens + d.completion_tokens), 0)`.as('n'))
        .whereRef('d.tenant_id', '=', 't.id')
        .where('d.day', '>=', since)
        .as('tokens_this_month'),
    ])
    .orderBy('t.name')
    .execute() as Promise<TenantSummary[]>;
}

/** Suspends or resumes a tenant (operator action), with a reason shown to its users and keys. */
export async function setTenantStatus(
  db: Db,
  tenantId: string,
  status: 'active' | 'suspended',
  opts: { actor: string; reason?: string },
): Promise<void> {
  await db.transaction(() => {
    const changed = db.run(
      db.kysely
        .updateTable('tenants')
        .set({
          status,
          status_reason: status === 'suspended' ? (opts.reason ?? 'suspended by the operator') : null,
          updated_at: Date.now(),
        })
        .where('id', '=', tenantId),
    );
    if (changed === 0) throw new NotFoundError('no such tenant', 'tenant_not_found');
    audit(db, {
      actor: opts.actor,
      tenantId,
      action: status === 'active' ? 'tenant.resume' : 'tenant.suspend',
      detail: { reason: opts.reason ?? null },
    });
  });
}
