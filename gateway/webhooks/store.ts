import type { Db } from '../../core/db/index.js';

/** Processing attempts of one stored update before the worker gives up on it. */
export const MAX_ATTEMPTS = 5;

/** A stored update waiting to be processed. */
export interface PendingUpdate {
  id: number;
  update_id: number;
  payload: string;
  attempts: number;
}

/**
 * Stores an update delivered by webhook; returns false when it was already stored (Telegram
 * delivered it again), so it is processed once.
 */
export function storeUpdate(
  db: Db,
  row: { botId: string; tenantId: string | null; updateId: number; payload: string },
): boolean {
  return (
    db.run(
      db.kysely
        .insertInto('telegram_updates')
        .values({
          bot_id: row.botId,
          tenant_id: row.tenantId,
          update_id: row.updateId,
          payload: row.payload,
          received_at: Date.now(),
          processed_at: null,
          last_error: null,
        })
        .onConflict((oc) => oc.columns(['bot_id', 'update_id']).doNothing()),
    ) > 0
  );
}

/** The next unprocessed updates of a bot after `afterId`, oldest first (attempts left only). */
export function pendingUpdates(db: Db, botId: string, afterId: number, limit = 100): PendingUpdate[] {
  return db.all(
    db.kysely
      .selectFrom('telegram_updates')
      .select(['id', 'update_id', 'payload', 'attempts'])
      .where('bot_id', '=', botId)
      .where('processed_at', 'is', null)
      .where('id', '>', afterId)
      .where('attempts', '<', MAX_ATTEMPTS)
      .orderBy('id')
      .limit(limit),
  );
}

/** Counts an attempt before it starts, so an update that crashes the process is bounded too. */
export function startAttempt(db: Db, id: number): number {
  const row = db.first(
    db.kysely
      .updateTable('telegram_updates')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .returning('attempts'),
  );
  return row?.attempts ?? MAX_ATTEMPTS;
}

/** Marks an update processed. */
export function markProcessed(db: Db, id: number): void {
  db.run(
    db.kysely.updateTable('telegram_updates').set({ processed_at: Date.now(), last_error: null }).where('id', '=', id),
  );
}

/** Records why an attempt failed; `giveUp` stops further attempts. */
export function markFailed(db: Db, id: number, error: string, giveUp: boolean): void {
  db.run(
    db.kysely
      .updateTable('telegram_updates')
      .set(giveUp ? { last_error: error.slice(0, 1000), attempts: MAX_ATTEMPTS } : { last_error: error.slice(0, 1000) })
      .where('id', '=', id),
  );
}

/** Deletes processed updates received before `before`, and any update older than `staleBefore`. */
export function pruneUpdates(db: Db, before: number, staleBefore: number): number {
  return db.run(
    db.kysely
      .deleteFrom('telegram_updates')
      .where((eb) =>
        eb.or([
          eb.and([eb('processed_at', 'is not', null), eb('received_at', '<', before)]),
          eb('received_at', '<', staleBefore),
        ]),
      ),
  );
}
