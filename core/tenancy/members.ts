import type { Db } from '../db/index.js';
import type { Tenant, TenantUser } from '../db/schema.js';

/** A linked Telegram account resolved to its tenant and user. */
export interface LinkedMember {
  tenant: Tenant;
  user: TenantUser;
}

/**
 * Resolves a Telegram account to the tenant user it speaks as. `tenantId` narrows the
 * search to one tenant (a white-label bot); without it (the platform bot) the most
 * recently linked membership wins. Returns undefined for unknown senders.
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
const LINK_ANY =
  'SELECT tenant_id, user_id FROM telegram_links WHERE telegram_user_id = ? ORDER BY linked_at DESC LIMIT 1';
const LINK_IN_TENANT =
  'SELECT tenant_id, user_id FROM telegram_links WHERE telegram_user_id = ? AND tenant_id = ? ORDER BY linked_at DESC LIMIT 1';

/** The users of one tenant, oldest first. */
export async function listUsers(db: Db, tenantId: string): Promise<TenantUser[]> {
  return db.kysely
    .selectFrom('tenant_users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .execute();
}
