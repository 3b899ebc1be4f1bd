import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/db/schema.js';
import { createInvite, redeemInvite, type TelegramIdentity } from '../../core/tenancy/invites.js';
import { findMemberByTelegram, listUsers } from '../../core/tenancy/members.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let a: Tenant;
let b: Tenant;

beforeEach(async () => {
  t = tempDb();
  a = await createTenant(t.db, t.sealer, { name: 'Alpha', slug: 'alpha' }, { actor: 'cli' });
  b = await createTenant(t.db, t.sealer, { name: 'Beta', slug: 'beta' }, { actor: 'cli' });
});
afterEach(async () => {
  await t.cleanup();
});

const person = (id: number, name = `Person ${id}`): TelegramIdentity => ({ telegramUserId: id, displayName: name });

/** Joins a Telegram account to a tenant through an invite, as the bot does. */
async function join(tenant: Tenant, who: TelegramIdentity) {
  const inv = await createInvite(t.db, tenant.id, {}, { actor: 'cli' });
  return redeemInvite(t.db, inv.code, who);
}

/** Waits until the clock moves on, so link times differ. */
async function tick(): Promise<void> {
  const start = Date.now();
  while (Date.now() === start) await new Promise((r) => setTimeout(r, 1));
}

describe('findMemberByTelegram', () => {
  it('resolves a linked account to its tenant and user', async () => {
    const r = await join(a, person(100, 'Ada'));
    const m = await findMemberByTelegram(t.db, 100);
    expect(m?.tenant.id).toBe(a.id);
    expect(m?.tenant.slug).toBe('alpha');
    expect(m?.user).toMatchObject(r.user);
    expect((await findMemberByTelegram(t.db, 100, a.id))?.user.id).toBe(r.user.id);
  });

  it('returns undefined for an unknown account, and for a tenant the account is not in', async () => {
    await join(a, person(100));
    expect(await findMemberByTelegram(t.db, 999)).toBeUndefined();
    expect(await findMemberByTelegram(t.db, 999, a.id)).toBeUndefined();
    expect(await findMemberByTelegram(t.db, 100, b.id)).toBeUndefined();
  });

  it('picks the most recent membership on the platform bot and the scoped one on a tenant bot', async () => {
    const inA = await join(a, person(200, 'In A'));
    await tick();
    const inB = await join(b, person(200, 'In B'));

    const platform = await findMemberByTelegram(t.db, 200);
    expect(platform?.tenant.id).toBe(b.id);
    expect(platform?.user.id).toBe(inB.user.id);

    const scopedA = await findMemberByTelegram(t.db, 200, a.id);
    expect(scopedA?.tenant.id).toBe(a.id);
    expect(scopedA?.user.id).toBe(inA.user.id);
    expect(scopedA?.user.display_name).toBe('In A');

    const scopedB = await findMemberByTelegram(t.db, 200, b.id);
    expect(scopedB?.user.id).toBe(inB.user.id);
  });

  it("never returns another tenant's user for a scoped lookup", async () => {
    await join(b, person(300));
    await tick();
    await join(a, person(301));
    const m = await findMemberByTelegram(t.db, 300, a.id);
    expect(m).toBeUndefined();
  });
});

describe('listUsers', () => {
  it("returns one tenant's users, oldest first, never another tenant's", async () => {
    const a1 = await join(a, person(1, 'A one'));
    await join(b, person(2, 'B one'));
    await tick();
    const a2 = await join(a, person(3, 'A two'));
    await join(b, person(1, 'B two'));

    const usersA = await listUsers(t.db, a.id);
    expect(usersA.map((u) => u.id)).toEqual([a1.user.id, a2.user.id]);
    expect(usersA.every((u) => u.tenant_id === a.id)).toBe(true);

    const usersB = await listUsers(t.db, b.id);
    expect(usersB.map((u) => u.display_name).sort()).toEqual(['B one', 'B two']);
    expect(usersB.every((u) => u.tenant_id === b.id)).toBe(true);

    const idsA = new Set(usersA.map((u) => u.id));
    expect(usersB.some((u) => idsA.has(u.id))).toBe(false);
    expect(await listUsers(t.db, 'no-such-tenant')).toEqual([]);
  });
});
