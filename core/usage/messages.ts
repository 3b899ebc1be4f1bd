import type { Db } from '../db/index.js';

/**
 * The model proxy's endpoints whose requests count as messages (a plan's messages per
 * day): the one definition the proxy enforces, the gateway checks before a model call, and
 * `/usage` reports.
 */
export const MESSAGE_ENDPOINTS: readonly string[] = ['/api/chat', '/api/generate', '/v1/chat/completions'];

/**
 * Messages a tenant, or one of its users, sent in [from, to) (epoch ms): the ledger rows of
 * `endpoints`. A question the proxy refused, or that never reached it, is not counted.
 */
export function messagesSent(
  db: Db,
  tenantId: string,
  userId: string | null,
  from: number,
  to: number,
  endpoints: readonly string[] = MESSAGE_ENDPOINTS,
): number {
  if (endpoints.length === 0) return 0;
  return db.first(messagesSentQuery(db, tenantId, userId, from, to, endpoints))?.n ?? 0;
}

/** The count behind messagesSent, read from the index usage_ledger_messages alone. */
export function messagesSentQuery(
  db: Db,
  tenantId: string,
  userId: string | null,
  from: number,
  to: number,
  endpoints: readonly string[],
) {
  let q = db.kysely
    .selectFrom('usage_ledger')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('started_at', '>=', from)
    .where('started_at', '<', to)
    .where('endpoint', 'in', endpoints);
  if (userId !== null) q = q.where('user_id', '=', userId);
  return q;
}

const DAY_MS = 86_400_000;

/** Messages sent on the UTC day of `at` (when a plan's messages per day reset). */
export function messagesToday(db: Db, tenantId: string, userId: string | null, at = Date.now()): number {
  const start = at - (at % DAY_MS);
  return messagesSent(db, tenantId, userId, start, start + DAY_MS);
}
