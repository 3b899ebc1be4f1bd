import type { Api } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Db } from '../../core/db/index.js';
import { apiSignal } from './guard.js';

/** How long a cached getMe answer is trusted before a start asks Telegram again. */
export const BOT_INFO_MAX_AGE_MS = 24 * 3_600_000;

/**
 * The bot's getMe answer: from the cache in `telegram_bot_info` while it is fresh, from
 * Telegram otherwise (then cached, and a changed username written to tenant_bots). Passed to
 * grammY as `botInfo`, so restarting hundreds of bots calls getMe for none of them.
 */
export async function resolveBotInfo(
  db: Db,
  api: Api,
  bot: { telegramBotId: number; tenantId: string | null; tenantBotId: string | null },
  signal: AbortSignal,
  maxAgeMs = BOT_INFO_MAX_AGE_MS,
): Promise<UserFromGetMe> {
  const cached = db.first(
    db.kysely
      .selectFrom('telegram_bot_info')
      .select(['info', 'fetched_at'])
      .where('telegram_bot_id', '=', bot.telegramBotId),
  );
  if (cached && Date.now() - cached.fetched_at < maxAgeMs) return JSON.parse(cached.info) as UserFromGetMe;
  const me = await api.getMe(apiSignal(signal));
  const t = Date.now();
  db.transaction(() => {
    db.run(
      db.kysely
        .insertInto('telegram_bot_info')
        .values({ telegram_bot_id: me.id, tenant_id: bot.tenantId, info: JSON.stringify(me), fetched_at: t })
        .onConflict((oc) =>
          oc
            .column('telegram_bot_id')
            .doUpdateSet({ tenant_id: bot.tenantId, info: JSON.stringify(me), fetched_at: t }),
        ),
    );
    if (bot.tenantId && bot.tenantBotId) {
      db.run(
        db.kysely
          .updateTable('tenant_bots')
          .set({ username: me.username, updated_at: t })
          .where('tenant_id', '=', bot.tenantId)
          .where('id', '=', bot.tenantBotId)
          .where((eb) => eb.or([eb('username', 'is', null), eb('username', '!=', me.username)])),
      );
    }
  });
  return me;
}
