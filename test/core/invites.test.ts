import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../core/crypto/tokens.js';
import { databasePath, openDb } from '../../core/db/index.js';
import type { Tenant } from '../../core/db/schema.js';
import { AnvilError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.js';
import { createInvite, parseDuration, redeemInvite, type TelegramIdentity } from '../../core/tenancy/invites.js';
import { createTenant, setTenantStatus } from '../../core/tenancy/tenants.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';
import { childScript, coreModule } from './child-process.js';

let t: TempDb;
let acme: Tenant;
let globex: Tenant;

beforeEach(async () => {
  t = tempDb();
  acme = await createTenant(t.db, t.sealer, { name: 'Acme', slug: 'acme' }, { actor: 'cli' });
  globex = await createTenant(t.db, t.sealer, { name: 'Globex', slug: 'globex' }, { actor: 'cli' });
});
afterEach(async () => {
  await t.cleanup();
});

const count = (table: string): number => t.db.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

const inviteRow = (id: string) =>
  t.db.sqlite.prepare('SELECT * FROM invites WHERE id = ?').get(id) as {
    tenant_id: string;
    code_hash: string;
    role: string;
    created_by: string;
    expires_at: number;
    redeemed_at: number | null;
    redeemed_by: string | null;
  };

const person = (id: number, name = `Person ${id}`): TelegramIdentity => ({
  telegramUserId: id,
  username: `person${id}`,
  displayName: name,
});

/** Returns the AnvilError a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<AnvilError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AnvilError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('createInvite', () => {
  it('stores only the hash of a single-use code, with role and expiry', async () => {
    const before = Date.now();
    const inv = await createInvite(t.db, acme.id, { role: 'admin' }, { actor: 'operator:op1' });
    expect(inv.code).toMatch(/^[a-z2-7]{10}$/);
    expect(inv.role).toBe('admin');
    expect(inv.expiresAt).toBeGreaterThanOrEqual(before + 72 * 3_600_000);
    expect(inv.expiresAt).toBeLessThanOrEqual(Date.now() + 72 * 3_600_000);
    const row = inviteRow(inv.id);
    expect(row).toMatchObject({
      tenant_id: acme.id,
      code_hash: sha256Hex(inv.code),
      role: 'admin',
      created_by: 'operator:op1',
      redeemed_at: null,
    });
    expect(JSON.stringify(row)).not.toContain(inv.code);
    const action = t.db.sqlite.prepare('SELECT action FROM audit_log ORDER BY id DESC').pluck().get();
    expect(action).toBe('invite.create');
  });

  it('takes a ttl and defaults to the member role', async () => {
    const inv = await createInvite(t.db, acme.id, { ttlMs: parseDuration('30m') }, { actor: 'cli' });
    expect(inv.role).toBe('member');
    expect(inv.expiresAt - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    expect(inv.expiresAt - Date.now()).toBeGreaterThan(29 * 60_000);
  });
});

describe('redeemInvite', () => {
  it('creates the user and the link and marks the invite used', async () => {
    const inv = await createInvite(t.db, acme.id, { role: 'admin' }, { actor: 'cli' });
    const r = await redeemInvite(t.db, inv.code, person(1001, 'Ada Lovelace'));
    expect(r.tenantId).toBe(acme.id);
    expect(r.tenantName).toBe('Acme');
    expect(r.user).toMatchObject({ tenant_id: acme.id, display_name: 'Ada Lovelace', role: 'admin', status: 'active' });

    const user = t.db.sqlite.prepare('SELECT * FROM tenant_users WHERE id = ?').get(r.user.id);
    expect(user).toMatchObject({ tenant_id: acme.id, role: 'admin' });
    const link = t.db.sqlite.prepare('SELECT * FROM telegram_links WHERE user_id = ?').get(r.user.id);
    expect(link).toMatchObject({ tenant_id: acme.id, telegram_user_id: 1001, telegram_username: 'person1001' });
    const row = inviteRow(inv.id);
    expect(row.redeemed_at).toBeGreaterThan(0);
    expect(row.redeemed_by).toBe(r.user.id);
    const entry = t.db.sqlite.prepare("SELECT * FROM audit_log WHERE action = 'invite.redeem'").get();
    expect(entry).toMatchObject({ actor: `user:${r.user.id}`, tenant_id: acme.id, target: inv.id });
  });

  it('gives a user without a display name a readable one', async () => {
    const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    const r = await redeemInvite(t.db, inv.code, { telegramUserId: 42, displayName: '' });
    expect(r.user.display_name).toBe('user 42');
  });

  it('refuses a code that was already used', async () => {
    const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    await redeemInvite(t.db, inv.code, person(1));
    const err = await refusal(redeemInvite(t.db, inv.code, person(2)));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.code).toBe('invite_used');
    expect(count('tenant_users')).toBe(1);
    expect(count('telegram_links')).toBe(1);
  });

  it('refuses an expired code and leaves it unredeemed', async () => {
    const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    t.db.sqlite.prepare('UPDATE invites SET expires_at = ? WHERE id = ?').run(Date.now() - 1, inv.id);
    const err = await refusal(redeemInvite(t.db, inv.code, person(1)));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.code).toBe('invite_expired');
    expect(inviteRow(inv.id)).toMatchObject({ redeemed_at: null, redeemed_by: null });
    expect(count('tenant_users')).toBe(0);
  });

  it('answers unknown and malformed codes with NotFoundError', async () => {
    await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    for (const code of ['abcdefghij', '', 'short', 'ABCDEFGHIJ', 'abcdefghi1', 'abcdefghijk', ' abcdefghi']) {
      const err = await refusal(redeemInvite(t.db, code, person(1)));
      expect(err, code).toBeInstanceOf(NotFoundError);
      expect(err.code).toBe('invite_invalid');
    }
    expect(count('tenant_users')).toBe(0);
  });

  it("answers another tenant's code like an unknown one when restricted to a tenant", async () => {
    const inv = await createInvite(t.db, globex.id, {}, { actor: 'cli' });
    const unknown = await refusal(redeemInvite(t.db, 'abcdefghij', person(1), { onlyTenantId: acme.id }));
    const foreign = await refusal(redeemInvite(t.db, inv.code, person(1), { onlyTenantId: acme.id }));
    expect(foreign).toBeInstanceOf(NotFoundError);
    expect(foreign.code).toBe(unknown.code);
    expect(foreign.message).toBe(unknown.message);
    expect(inviteRow(inv.id).redeemed_at).toBeNull();
    expect(count('tenant_users')).toBe(0);
    expect(count('telegram_links')).toBe(0);
    // The code still works for its own tenant.
    const r = await redeemInvite(t.db, inv.code, person(1), { onlyTenantId: globex.id });
    expect(r.tenantId).toBe(globex.id);
  });

  it('refuses while the tenant is suspended and leaves the code usable', async () => {
    const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    await setTenantStatus(t.db, acme.id, 'suspended', { actor: 'cli' });
    const err = await refusal(redeemInvite(t.db, inv.code, person(1)));
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err.code).toBe('tenant_suspended');
    expect(inviteRow(inv.id).redeemed_at).toBeNull();
    await setTenantStatus(t.db, acme.id, 'active', { actor: 'cli' });
    expect((await redeemInvite(t.db, inv.code, person(1))).tenantId).toBe(acme.id);
  });

  it("enforces the plan's user limit (starter: 5)", async () => {
    for (let i = 1; i <= 5; i++) {
      const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
      await redeemInvite(t.db, inv.code, person(i));
    }
    const sixth = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    const err = await refusal(redeemInvite(t.db, sixth.code, person(6)));
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err.code).toBe('max_users');
    expect(err.message).toContain('5');
    expect(inviteRow(sixth.id).redeemed_at).toBeNull();
    expect(count('tenant_users')).toBe(5);
    // Another tenant's users do not count against Acme, and Acme's do not count against it.
    const other = await createInvite(t.db, globex.id, {}, { actor: 'cli' });
    expect((await redeemInvite(t.db, other.code, person(6))).tenantId).toBe(globex.id);
  });

  it("uses the tenant's own user limit over the plan's", async () => {
    t.db.sqlite.prepare('UPDATE tenants SET max_users = 1 WHERE id = ?').run(acme.id);
    await redeemInvite(t.db, (await createInvite(t.db, acme.id, {}, { actor: 'cli' })).code, person(1));
    const err = await refusal(
      redeemInvite(t.db, (await createInvite(t.db, acme.id, {}, { actor: 'cli' })).code, person(2)),
    );
    expect(err.code).toBe('max_users');
  });

  it('refuses the same Telegram user twice in one tenant without consuming the second code', async () => {
    const first = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    const second = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    await redeemInvite(t.db, first.code, person(7));
    const err = await refusal(redeemInvite(t.db, second.code, person(7)));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.code).toBe('already_member');
    expect(inviteRow(second.id).redeemed_at).toBeNull();
    expect(count('tenant_users')).toBe(1);
    // The code is still good for someone else.
    expect((await redeemInvite(t.db, second.code, person(8))).user.tenant_id).toBe(acme.id);
  });

  it('lets one Telegram user join two tenants', async () => {
    await redeemInvite(t.db, (await createInvite(t.db, acme.id, {}, { actor: 'cli' })).code, person(9));
    await redeemInvite(t.db, (await createInvite(t.db, globex.id, {}, { actor: 'cli' })).code, person(9));
    expect(t.db.sqlite.prepare('SELECT count(*) FROM telegram_links WHERE telegram_user_id = 9').pluck().get()).toBe(2);
  });

  it('lets exactly one of two concurrent redemptions of one code succeed', async () => {
    const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    const results = await Promise.allSettled([
      redeemInvite(t.db, inv.code, person(1)),
      redeemInvite(t.db, inv.code, person(2)),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect((failed[0]!.reason as AnvilError).code).toBe('invite_used');
    expect(count('tenant_users')).toBe(1);
    expect(count('telegram_links')).toBe(1);
  });

  it('lets exactly one of two processes redeeming one code at once succeed, refusing the other cleanly', async () => {
    const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
    const run = childScript(
      t.dir,
      'redeem-child',
      [
        `import { openDb } from ${coreModule('db/index.ts')};`,
        `import { redeemInvite } from ${coreModule('tenancy/invites.ts')};`,
        'const db = openDb(process.env.DB_FILE as string);',
        'await startTogether();',
        'const who = { telegramUserId: Number(process.env.TG_USER), displayName: "child" };',
        'const out = await redeemInvite(db, process.env.CODE as string, who).then(',
        '  (r) => ({ ok: true, user: r.user.id }),',
        '  (err) => ({ ok: false, name: err.name, code: err.code, message: err.message }),',
        ');',
        'await db.close();',
        'process.stdout.write(JSON.stringify(out));',
      ].join('\n'),
    );
    const env = { DB_FILE: databasePath(t.dir), CODE: inv.code };
    const results = await run([
      { ...env, TG_USER: '1' },
      { ...env, TG_USER: '2' },
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const outs = results.map((r) => JSON.parse(r.stdout) as { ok: boolean; code?: string; user?: string });
    expect(outs.filter((o) => o.ok)).toHaveLength(1);
    expect(outs.filter((o) => !o.ok).map((o) => o.code)).toEqual(['invite_used']);
    expect(count('tenant_users')).toBe(1);
    expect(count('telegram_links')).toBe(1);
    expect(inviteRow(inv.id).redeemed_by).toBe(outs.find((o) => o.ok)?.user);
  });

  it('succeeds while another connection keeps writing to the same file', async () => {
    // The model proxy records usage on every request, in its own process; a redemption that
    // reads and then writes must not fail because another writer committed in between.
    const proxy = openDb(databasePath(t.dir));
    proxy.sqlite.pragma('busy_timeout = 0');
    const write = proxy.sqlite.prepare("INSERT INTO audit_log (at, actor, action) VALUES (?, 'system', 'tick')");
    let writing = true;
    let committed = 0;
    const writer = (async () => {
      while (writing) {
        try {
          write.run(Date.now());
          committed++;
        } catch (err) {
          // The redemption holds the write lock: this writer would wait its turn.
          if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
        }
        await Promise.resolve();
      }
    })();
    try {
      for (let i = 1; i <= 5; i++) {
        const inv = await createInvite(t.db, acme.id, {}, { actor: 'cli' });
        const r = await redeemInvite(t.db, inv.code, person(i));
        expect(r.tenantId).toBe(acme.id);
      }
    } finally {
      writing = false;
      await writer;
      await proxy.close();
    }
    expect(committed).toBeGreaterThan(0);
    expect(count('tenant_users')).toBe(5);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['72h', 72 * 3_600_000],
    ['7d', 7 * 86_400_000],
    [' 1m ', 60_000],
    ['90d', 90 * 86_400_000],
    ['5 h', 5 * 3_600_000],
  ])('parses %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '72', 'h', '0m', '91d', '1.5h', '-1h', '10s', '1w', '3 days', 'abc'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(ValidationError);
  });
});
