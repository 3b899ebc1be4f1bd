import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import {
  botTokenContext,
  createTenant,
  getTenant,
  getTenantBySlug,
  listTenantsAcrossAll,
  loadTenantContext,
  monthStart,
  setTenantStatus,
  type VerifiedBot,
} from '../../core/tenancy/tenants.js';
import { utcDay } from '../../core/usage/ledger.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
beforeEach(() => {
  t = tempDb();
});
afterEach(async () => {
  await t.cleanup();
});

const count = (table: string): number => t.db.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

const BOT: VerifiedBot = {
  token: '7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw',
  telegramBotId: 7123456789,
  username: 'acme_assistant_bot',
};

/** Returns the error a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('createTenant', () => {
  it('creates the tenant and its audit entry', async () => {
    const tenant = await createTenant(t.db, t.sealer, { name: '  Acme Steel ', slug: 'acme-steel' }, { actor: 'cli' });
    expect(tenant).toMatchObject({ name: 'Acme Steel', slug: 'acme-steel', plan_id: 'starter', status: 'active' });
    expect(tenant.id).toMatch(/^[a-z2-7]{16}$/);
    expect(await getTenantBySlug(t.db, 'acme-steel')).toEqual(tenant);
    expect(await getTenant(t.db, tenant.id)).toEqual(tenant);

    const entries = t.db.sqlite.prepare('SELECT * FROM audit_log').all() as {
      actor: string;
      tenant_id: string;
      action: string;
      target: string;
      detail: string;
    }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'cli',
      tenant_id: tenant.id,
      action: 'tenant.create',
      target: 'acme-steel',
    });
    expect(JSON.parse(entries[0]!.detail)).toEqual({ plan: 'starter', bot: null });
    expect(count('tenant_bots')).toBe(0);
    expect(count('sealed_secrets')).toBe(0);
  });

  it('takes a plan and exposes the effective limits', async () => {
    const tenant = await createTenant(
      t.db,
      t.sealer,
      { name: 'Big', slug: 'big', planId: 'enterprise' },
      { actor: 'cli' },
    );
    const ctx = await loadTenantContext(t.db, tenant.id);
    expect(ctx.plan.id).toBe('enterprise');
    expect(ctx.limits).toMatchObject({ planId: 'enterprise', maxUsers: null, messagesPerDay: null });
  });

  it('refuses a duplicate slug and writes nothing', async () => {
    await createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme' }, { actor: 'cli' });
    const before = { tenants: count('tenants'), audit: count('audit_log') };
    const err = await rejection(createTenant(t.db, t.sealer, { name: 'Acme 2', slug: 'acme' }, { actor: 'cli' }));
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('slug_taken');
    expect({ tenants: count('tenants'), audit: count('audit_log') }).toEqual(before);
  });

  it.each(['A', 'Acme', 'acme_steel', '-acme', 'acme-', 'a', 'x'.repeat(41), 'acme steel', 'äcme'])(
    'refuses the invalid slug %j',
    async (slug) => {
      const err = await rejection(createTenant(t.db, t.sealer, { name: 'Acme', slug }, { actor: 'cli' }));
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.message).toContain('slug');
      expect(count('tenants')).toBe(0);
    },
  );

  it('refuses an empty name', async () => {
    const err = await rejection(createTenant(t.db, t.sealer, { name: '   ', slug: 'acme' }, { actor: 'cli' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(count('tenants')).toBe(0);
  });

  it('refuses an unknown plan and lists the plans', async () => {
    const err = await rejection(
      createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme', planId: 'gold' }, { actor: 'cli' }),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('unknown_plan');
    for (const p of ['gold', 'starter', 'professional', 'enterprise']) expect(err.message).toContain(p);
    expect(count('tenants')).toBe(0);
    expect(count('audit_log')).toBe(0);
  });

  it("seals a white-label bot's token so that only its row's context opens it", async () => {
    const tenant = await createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme' }, { actor: 'cli', bot: BOT });
    const bot = t.db.sqlite.prepare('SELECT * FROM tenant_bots').get() as {
      id: string;
      tenant_id: string;
      telegram_bot_id: number;
      username: string;
      token_secret_id: string;
    };
    expect(bot).toMatchObject({ tenant_id: tenant.id, telegram_bot_id: BOT.telegramBotId, username: BOT.username });
    // No webhook secret is stored: it is derived from the master key (gateway/webhooks/secret.ts).
    expect(Object.keys(bot).some((column) => /webhook|secret$/.test(column))).toBe(false);

    const secret = t.db.sqlite.prepare('SELECT * FROM sealed_secrets WHERE id = ?').get(bot.token_secret_id) as {
      tenant_id: string;
      purpose: string;
      sealed: string;
    };
    expect(secret.tenant_id).toBe(tenant.id);
    expect(secret.purpose).toBe('telegram_bot_token');
    // Neither the token nor its secret half is stored in clear anywhere in the row.
    expect(JSON.stringify(secret)).not.toContain(BOT.token);
    expect(JSON.stringify(secret)).not.toContain(BOT.token.split(':')[1]);
    expect(t.sealer.open(secret.sealed, botTokenContext(bot.id))).toBe(BOT.token);
    expect(() => t.sealer.open(secret.sealed, botTokenContext('another-bot'))).toThrow();

    const entry = t.db.sqlite.prepare('SELECT detail FROM audit_log').pluck().get() as string;
    expect(JSON.parse(entry)).toEqual({ plan: 'starter', bot: BOT.username });
    expect(entry).not.toContain(BOT.token);
  });

  it('refuses the same bot for a second tenant and rolls the second tenant back', async () => {
    await createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme' }, { actor: 'cli', bot: BOT });
    const before = ['tenants', 'tenant_bots', 'sealed_secrets', 'audit_log'].map(count);
    const err = await rejection(
      createTenant(t.db, t.sealer, { name: 'Globex', slug: 'globex' }, { actor: 'cli', bot: { ...BOT } }),
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('bot_taken');
    expect(['tenants', 'tenant_bots', 'sealed_secrets', 'audit_log'].map(count)).toEqual(before);
    await expect(getTenantBySlug(t.db, 'globex')).rejects.toBeInstanceOf(NotFoundError);
    // The slug stays free: the tenant can be created without the bot.
    await createTenant(t.db, t.sealer, { name: 'Globex', slug: 'globex' }, { actor: 'cli' });
    expect(count('tenants')).toBe(2);
  });
});

describe('getTenant', () => {
  it('throws NotFoundError for unknown tenants', async () => {
    await expect(getTenant(t.db, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(getTenantBySlug(t.db, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('setTenantStatus', () => {
  it('suspends with a reason and resumes, auditing both', async () => {
    const tenant = await createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme' }, { actor: 'cli' });
    await setTenantStatus(t.db, tenant.id, 'suspended', { actor: 'operator:op1', reason: 'unpaid invoice' });
    expect(await getTenant(t.db, tenant.id)).toMatchObject({ status: 'suspended', status_reason: 'unpaid invoice' });

    await setTenantStatus(t.db, tenant.id, 'active', { actor: 'operator:op1' });
    expect(await getTenant(t.db, tenant.id)).toMatchObject({ status: 'active', status_reason: null });

    await setTenantStatus(t.db, tenant.id, 'suspended', { actor: 'cli' });
    expect((await getTenant(t.db, tenant.id)).status_reason).toBeTruthy();

    const actions = t.db.sqlite.prepare('SELECT action FROM audit_log ORDER BY id').pluck().all();
    expect(actions).toEqual(['tenant.create', 'tenant.suspend', 'tenant.resume', 'tenant.suspend']);
  });

  it('throws NotFoundError for an unknown tenant and audits nothing', async () => {
    await expect(setTenantStatus(t.db, 'nope', 'suspended', { actor: 'cli' })).rejects.toBeInstanceOf(NotFoundError);
    expect(count('audit_log')).toBe(0);
  });
});

describe('listTenantsAcrossAll', () => {
  it("counts users and this month's tokens from the daily rollups only", async () => {
    const acme = await createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme' }, { actor: 'cli' });
    const globex = await createTenant(t.db, t.sealer, { name: 'Globex', slug: 'globex' }, { actor: 'cli' });
    const addUser = t.db.sqlite.prepare(
      "INSERT INTO tenant_users (id, tenant_id, display_name, created_at, updated_at) VALUES (?, ?, 'u', 0, 0)",
    );
    addUser.run('u1', acme.id);
    addUser.run('u2', acme.id);
    addUser.run('u3', globex.id);

    const today = utcDay(Date.now());
    const firstOfMonth = monthStart();
    const lastMonth = utcDay(Date.parse(`${firstOfMonth}T00:00:00Z`) - 86_400_000);
    const addDay = t.db.sqlite.prepare(
      'INSERT INTO usage_daily (tenant_id, day, user_id, model, requests, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, 1, ?, ?)',
    );
    addDay.run(acme.id, today, 'u1', 'llama3.1:8b', 100, 50);
    addDay.run(acme.id, firstOfMonth, 'u2', 'llama3.1:8b', 10, 5);
    addDay.run(acme.id, lastMonth, 'u1', 'llama3.1:8b', 1_000_000, 1_000_000);
    // A raw ledger row without its rollup: the list must not scan the ledger.
    t.db.sqlite
      .prepare(
        `INSERT INTO usage_ledger (request_id, tenant_id, model, endpoint, prompt_tokens, completion_tokens, status,
           started_at, duration_ms, exact) VALUES ('r1', ?, 'llama3.1:8b', '/api/chat', 7777, 7777, 'ok', ?, 1, 1)`,
      )
      .run(globex.id, Date.now());

    const list = await listTenantsAcrossAll(t.db);
    expect(list.map((x) => x.slug)).toEqual(['acme', 'globex']);
    const byslug = Object.fromEntries(list.map((x) => [x.slug, x]));
    expect(byslug.acme).toMatchObject({ id: acme.id, plan_id: 'starter', status: 'active', users: 2 });
    expect(byslug.acme!.tokens_this_month).toBe(165);
    expect(byslug.globex).toMatchObject({ users: 1, tokens_this_month: 0 });
  });

  it('monthStart is the first UTC day of the month', () => {
    expect(monthStart(new Date('2026-03-31T23:59:59Z'))).toBe('2026-03-01');
    expect(monthStart(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01');
  });
});
