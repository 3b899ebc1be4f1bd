import type { Db } from '../db/index.js';
import type { Tenant, TenantUser } from '../db/schema.js';

/** A linked Telegram account resolved to its tenant and user. */
export interface LinkedMember {
  tenant: Tenant;
  user: TenantUser;
}

/**
 * Resolves a Telegram account to the tenant user it speaks as. `tenantId` narrows the
 * search to one tenant (a white-label bot); without it (the platform bot) the team the
 * account chose (with /team) or joined last wins. Returns undefined for
 * unknown senders.
 */
export async function findMemberByTelegram(
  db: Db,
  telegramUserId: number,
  tenantId?: string,
): Promise<LinkedMember | undefined> {
  return findMemberByTelegramSync(db, telegramUserId, tenantId);
}

/**
 * `findMemberByTelegram` without the promise: the gateway runs it on every update, as three
 * indexed reads through cached prepared statements.
 */
export function findMemberByTelegramSync(db: Db, telegramUserId: number, tenantId?: string): LinkedMember | undefined {
  const link = tenantId
    ? db.prepare<LinkRow>(LINK_IN_TENANT).get(telegramUserId, tenantId)
    : db.prepare<LinkRow>(LINK_ANY).get(telegramUserId);
  if (!link) return undefined;
  const tenant = db.prepare<Tenant>('SELECT * FROM tenants WHERE id = ?').get(link.tenant_id);
  const user = db
    .prepare<TenantUser>('SELECT * FROM tenant_users WHERE tenant_id = ? AND id = ?')
    .get(link.tenant_id, link.user_id);
  // Foreign keys make both exist; a row deleted between the reads reads as an unknown sender.
  return tenant && user ? { tenant, user } : undefined;
}

interface LinkRow {
  tenant_id: string;
  user_id: string;
}
/** The account's teams, the one the platform bot talks for first: chosen (with /team) or joined last. */
const CURRENT_FIRST = 'ORDER BY coalesce(l.chosen_at, l.linked_at) DESC, l.linked_at DESC, l.rowid DESC';
const LINK_ANY = `SELECT tenant_id, user_id FROM telegram_links AS l WHERE telegram_user_id = ? ${CURRENT_FIRST} LIMIT 1`;
const LINK_IN_TENANT =
  'SELECT tenant_id, user_id FROM telegram_links WHERE telegram_user_id = ? AND tenant_id = ? ORDER BY linked_at DESC LIMIT 1';

/** One of the teams a Telegram account belongs to. */
export interface Membership {
  tenantId: string;
  slug: string;
  name: string;
  role: TenantUser['role'];
}

/** The teams a Telegram account belongs to, the one the platform bot talks for first. */
export function membershipsOf(db: Db, telegramUserId: number): Membership[] {
  return db
    .prepare<Membership>(
      `SELECT t.id AS tenantId, t.slug AS slug, t.name AS name, u.role AS role
       FROM telegram_links l JOIN tenants t ON t.id = l.tenant_id JOIN tenant_users u ON u.id = l.user_id
       WHERE l.telegram_user_id = ? ${CURRENT_FIRST}`,
    )
    .all(telegramUserId);
}

/** What `/team <name>` found among the account's teams. */
export type TeamChoice =
  | { kind: 'chosen'; team: Membership }
  | { kind: 'unknown' }
  /** Several of the account's teams have that name (names need not be unique; slugs are). */
  | { kind: 'ambiguous'; teams: Membership[] };

/**
 * Makes the platform bot talk for one of the account's teams, named by slug or name (any
 * case; a slug wins over a name). A team the account is not in reads the same as one that
 * does not exist; a name that several of its teams share chooses none of them.
 */
export function chooseTeam(db: Db, telegramUserId: number, team: string, now = Date.now()): TeamChoice {
  const wanted = team.trim().toLowerCase();
  const teams = membershipsOf(db, telegramUserId);
  const named = teams.filter((m) => m.name.toLowerCase() === wanted);
  const chosen = teams.find((m) => m.slug.toLowerCase() === wanted) ?? (named.length === 1 ? named[0] : undefined);
  if (!chosen) return named.length > 1 ? { kind: 'ambiguous', teams: named } : { kind: 'unknown' };
  // Later than every other link of the account, even one made in the same millisecond.
  db.prepare(
    `UPDATE telegram_links SET chosen_at = max(?, (SELECT max(coalesce(chosen_at, linked_at)) + 1
       FROM telegram_links WHERE telegram_user_id = ?)) WHERE telegram_user_id = ? AND tenant_id = ?`,
  ).run(now, telegramUserId, telegramUserId, chosen.tenantId);
  return { kind: 'chosen', team: chosen };
}

/** The users of one tenant, oldest first. */
export async function listUsers(db: Db, tenantId: string): Promise<TenantUser[]> {
  return db.kysely
    .selectFrom('tenant_users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .execute();
}
