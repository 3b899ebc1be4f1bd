import { audit } from '../audit.js';
import { newId } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { ActiveStatus, TenantRole, TenantUser } from '../db/schema.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { type EffectiveLimits, effectiveLimits, type Feature } from './plans.js';

/**
 * Refuses when a tenant has no free seat: its plan's (or its own) max users counts the
 * active users. Call it inside the `db.transaction` that adds or reactivates the user, so
 * the count still holds when the row is written.
 */
export function assertSeatAvailable(db: Db, tenantId: string, toldTo: 'admin' | 'newcomer' = 'admin'): void {
  const tenant = db.first(db.kysely.selectFrom('tenants').selectAll().where('id', '=', tenantId));
  if (!tenant) throw new NotFoundError('no such tenant', 'tenant_not_found');
  const plan = db.first(db.kysely.selectFrom('plans').selectAll().where('id', '=', tenant.plan_id))!;
  const { maxUsers } = effectiveLimits(tenant, plan);
  if (maxUsers === null) return;
  const { n } = db.first(
    db.kysely
      .selectFrom('tenant_users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active'),
  )!;
  if (n >= maxUsers) {
    // The admin can act on it; someone joining can only ask the admin.
    const next = toldTo === 'admin' ? 'Suspend someone or ask the operator for a larger plan.' : 'Ask your admin.';
    throw new ForbiddenError(`${tenant.name} has reached its plan's limit of ${maxUsers} users. ${next}`, 'max_users');
  }
}

/** A Telegram account joining a tenant. */
export interface NewTelegramMember {
  role: TenantRole;
  displayName: string;
  telegramUserId: number;
  telegramUsername: string | null;
}

/**
 * Adds a tenant user linked to a Telegram account. Call it inside the `db.transaction`
 * that checked the seat (assertSeatAvailable) and consumed the invite or request.
 */
export function addTelegramMember(db: Db, tenantId: string, m: NewTelegramMember, at = Date.now()): TenantUser {
  const id = newId();
  db.run(
    db.kysely.insertInto('tenant_users').values({
      id,
      tenant_id: tenantId,
      display_name: m.displayName.slice(0, 120) || `user ${m.telegramUserId}`,
      role: m.role,
      status: 'active',
      features: null,
      created_at: at,
      updated_at: at,
    }),
  );
  db.run(
    db.kysely.insertInto('telegram_links').values({
      id: newId(),
      tenant_id: tenantId,
      user_id: id,
      telegram_user_id: m.telegramUserId,
      telegram_username: m.telegramUsername,
      linked_at: at,
    }),
  );
  return db.first(db.kysely.selectFrom('tenant_users').selectAll().where('id', '=', id)) as TenantUser;
}

/** The features a user may use: the plan's, narrowed by the user's own list when it has one. */
export function userFeatures(limits: EffectiveLimits, user: Pick<TenantUser, 'features'>): Feature[] {
  if (user.features === null) return limits.features;
  let own: unknown;
  try {
    own = JSON.parse(user.features);
  } catch {
    return [];
  }
  return Array.isArray(own) ? limits.features.filter((f) => own.includes(f)) : [];
}

/** A tenant user with the Telegram account linked to it. */
export interface MemberListing {
  id: string;
  display_name: string;
  role: TenantRole;
  status: ActiveStatus;
  telegram_user_id: number | null;
  telegram_username: string | null;
  created_at: number;
}

/** The users of one tenant with their Telegram accounts, oldest first. */
export async function listMembers(db: Db, tenantId: string): Promise<MemberListing[]> {
  return db.kysely
    .selectFrom('tenant_users as u')
    .leftJoin('telegram_links as l', (j) => j.onRef('l.user_id', '=', 'u.id').onRef('l.tenant_id', '=', 'u.tenant_id'))
    .select([
      'u.id',
      'u.display_name',
      'u.role',
      'u.status',
      'u.created_at',
      'l.telegram_user_id',
      'l.telegram_username',
    ])
    .where('u.tenant_id', '=', tenantId)
    .orderBy('u.created_at')
    .execute();
}

/**
 * Finds a user of one tenant by what an admin types: the user id, `@username` (the
 * Telegram username, any case) or the numeric Telegram id.
 */
export async function findMemberByRef(db: Db, tenantId: string, ref: string): Promise<MemberListing | undefined> {
  const r = ref.trim();
  if (r === '') return undefined;
  const all = await listMembers(db, tenantId);
  if (r.startsWith('@')) {
    const name = r.slice(1).toLowerCase();
    return all.find((m) => m.telegram_username?.toLowerCase() === name);
  }
  return all.find((m) => m.id === r || (/^\d+$/.test(r) && m.telegram_user_id === Number(r)));
}

/**
 * Suspends or reactivates a tenant user. Reactivating takes a seat, so it is refused when
 * the plan's max users are all active. Nobody suspends themselves (so a tenant always keeps
 * an admin who can undo it). Returns false when the user already had that status.
 */
export async function setMemberStatus(
  db: Db,
  tenantId: string,
  userId: string,
  status: ActiveStatus,
  opts: { actorUserId: string },
): Promise<boolean> {
  if (status === 'suspended' && userId === opts.actorUserId) {
    throw new ConflictError('You cannot suspend yourself.', 'suspend_self');
  }
  return db.transaction(() => {
    const user = db.first(
      db.kysely.selectFrom('tenant_users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', userId),
    );
    if (!user) throw new NotFoundError('No such user in your team.', 'user_not_found');
    if (user.status === status) return false;
    if (status === 'active') assertSeatAvailable(db, tenantId);
    db.run(
      db.kysely
        .updateTable('tenant_users')
        .set({ status, updated_at: Date.now() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', userId),
    );
    audit(db, {
      actor: `user:${opts.actorUserId}`,
      tenantId,
      action: status === 'active' ? 'user.unsuspend' : 'user.suspend',
      target: userId,
    });
    return true;
  });
}

/** Telegram ids of a tenant's active admins (whom pairing requests are announced to). */
export async function adminTelegramIds(db: Db, tenantId: string): Promise<number[]> {
  const rows = await db.kysely
    .selectFrom('tenant_users as u')
    .innerJoin('telegram_links as l', (j) => j.onRef('l.user_id', '=', 'u.id').onRef('l.tenant_id', '=', 'u.tenant_id'))
    .select('l.telegram_user_id')
    .where('u.tenant_id', '=', tenantId)
    .where('u.role', '=', 'admin')
    .where('u.status', '=', 'active')
    .execute();
  return rows.map((r) => r.telegram_user_id);
}
