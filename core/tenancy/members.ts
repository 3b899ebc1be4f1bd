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
  let q = db.kysely
    .selectFrom('telegram_links')
    .select(['tenant_id', 'user_id'])
    .where('telegram_user_id', '=', telegramUserId);
  if (tenantId) q = q.where('tenant_id', '=', tenantId);
  const link = await q.orderBy('linked_at', 'desc').executeTakeFirst();
  if (!link) return undefined;
  const [tenant, user] = await Promise.all([
    db.kysely.selectFrom('tenants').selectAll().where('id', '=', link.tenant_id).executeTakeFirstOrThrow(),
    db.kysely
      .selectFrom('tenant_users')
      .selectAll()
      .where('tenant_id', '=', link.tenant_id)
      .where('id', '=', link.user_id)
      .executeTakeFirstOrThrow(),
  ]);
  return { tenant, user };
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
