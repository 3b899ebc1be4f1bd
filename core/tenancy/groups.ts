import { audit } from '../audit.js';
import { newId } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { GroupChat } from '../db/schema.js';
import { ConflictError } from '../errors.js';

/** Which bot serves a group: the platform bot, or one tenant's white-label bot. */
export type GroupVia = { via: 'platform' } | { via: 'tenant_bot'; tenantId: string };

/**
 * The tenant a group chat was enabled for, as seen by one bot. Like resolving a Telegram
 * account, this looks a chat up before its tenant is known: a group belongs to at most one
 * tenant on the platform bot, and only to its own tenant on a white-label bot.
 */
export async function findGroupByChat(db: Db, chatId: number, bot: GroupVia): Promise<GroupChat | undefined> {
  let q = db.kysely.selectFrom('group_chats').selectAll().where('chat_id', '=', chatId).where('via', '=', bot.via);
  if (bot.via === 'tenant_bot') q = q.where('tenant_id', '=', bot.tenantId);
  return q.executeTakeFirst();
}

/**
 * Enables a group chat for a tenant. On the platform bot a group serves one tenant: enabling
 * a group another tenant holds is refused. Returns false when it was already enabled.
 */
export async function enableGroup(
  db: Db,
  tenantId: string,
  chatId: number,
  bot: GroupVia,
  opts: { title: string | null; actorUserId: string },
): Promise<boolean> {
  return db.transaction(() => {
    let q = db.kysely.selectFrom('group_chats').selectAll().where('chat_id', '=', chatId).where('via', '=', bot.via);
    if (bot.via === 'tenant_bot') q = q.where('tenant_id', '=', tenantId);
    const existing = db.first(q);
    if (existing?.tenant_id === tenantId) return false;
    if (existing) throw new ConflictError('This group is already used by another team.', 'group_taken');
    const id = newId();
    db.run(
      db.kysely.insertInto('group_chats').values({
        id,
        tenant_id: tenantId,
        chat_id: chatId,
        via: bot.via,
        title: opts.title,
        enabled_by: opts.actorUserId,
        enabled_at: Date.now(),
      }),
    );
    audit(db, { actor: `user:${opts.actorUserId}`, tenantId, action: 'group.enable', target: String(chatId) });
    return true;
  });
}

/** Disables a tenant's group chat; returns false when it was not enabled. */
export async function disableGroup(
  db: Db,
  tenantId: string,
  chatId: number,
  bot: GroupVia,
  opts: { actorUserId: string },
): Promise<boolean> {
  return db.transaction(() => {
    const removed = db.run(
      db.kysely
        .deleteFrom('group_chats')
        .where('tenant_id', '=', tenantId)
        .where('chat_id', '=', chatId)
        .where('via', '=', bot.via),
    );
    if (removed > 0) {
      audit(db, { actor: `user:${opts.actorUserId}`, tenantId, action: 'group.disable', target: String(chatId) });
    }
    return removed > 0;
  });
}
