import { sql } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { NotFoundError } from '../../core/errors.js';
import { messagesSent } from '../../core/usage/messages.js';
import { dayKey, type Period } from './periods.js';

/** A tenant's effective limits: its own overrides, else its plan's. NULL: unlimited. */
export interface TenantLimitValues {
  monthlyTokenBudget: number | null;
  messagesPerDay: number | null;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

/** A tenant user's own caps, on top of the tenant's. NULL: no cap of its own. */
export interface UserLimitValues {
  monthlyTokenCap: number | null;
  messagesPerDay: number | null;
}

/** An API key's own rate limits, on top of the tenant's. NULL: only the tenant's apply. */
export interface KeyLimitValues {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

/** How long limit values read from the database are trusted: a changed limit applies within this. */
export const LIMIT_CACHE_MS = 2_000;

const NO_USER_CAPS: UserLimitValues = { monthlyTokenCap: null, messagesPerDay: null };
const NO_KEY_LIMITS: KeyLimitValues = { requestsPerMinute: null, tokensPerMinute: null };

/**
 * The database side of the limits: limit values (cached for `cacheMs`, read synchronously
 * so a reservation never awaits) and the usage a period already has in the ledger, read
 * once when a counter starts.
 */
export class LimitStore {
  private readonly cache = new Map<string, { at: number; value: unknown }>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    private readonly cacheMs: number,
    private readonly messageEndpoints: readonly string[],
    private readonly beforeUsageRead: () => void = () => {},
  ) {}

  /** The tenant's limits; an unknown tenant is a NotFoundError. */
  tenant(tenantId: string): TenantLimitValues {
    return this.cached(`t:${tenantId}`, () => {
      const row = this.db.first(
        this.db.kysely
          .selectFrom('tenants as t')
          .innerJoin('plans as p', 'p.id', 't.plan_id')
          .select((eb) => [
            eb.fn.coalesce('t.monthly_token_budget', 'p.monthly_token_budget').as('monthlyTokenBudget'),
            eb.fn.coalesce('t.messages_per_day', 'p.messages_per_day').as('messagesPerDay'),
            eb.fn.coalesce('t.requests_per_minute', 'p.requests_per_minute').as('requestsPerMinute'),
            eb.fn.coalesce('t.tokens_per_minute', 'p.tokens_per_minute').as('tokensPerMinute'),
          ])
          .where('t.id', '=', tenantId),
      );
      if (!row) throw new NotFoundError('no such tenant', 'tenant_not_found');
      return row;
    });
  }

  /** A user's own caps (none for a user that is not the tenant's). */
  user(tenantId: string, userId: string): UserLimitValues {
    return this.cached(`u:${tenantId}:${userId}`, () => {
      const row = this.db.first(
        this.db.kysely
          .selectFrom('tenant_users')
          .select(['monthly_token_cap as monthlyTokenCap', 'messages_per_day as messagesPerDay'])
          .where('id', '=', userId)
          .where('tenant_id', '=', tenantId),
      );
      return row ?? NO_USER_CAPS;
    });
  }

  /** An API key's own rate limits (none for a key that is not the tenant's). */
  key(tenantId: string, apiKeyId: string): KeyLimitValues {
    return this.cached(`k:${tenantId}:${apiKeyId}`, () => {
      const row = this.db.first(
        this.db.kysely
          .selectFrom('api_keys')
          .select(['requests_per_minute as requestsPerMinute', 'tokens_per_minute as tokensPerMinute'])
          .where('id', '=', apiKeyId)
          .where('tenant_id', '=', tenantId),
      );
      return row ?? NO_KEY_LIMITS;
    });
  }

  /** Forgets every cached limit value, so the next request reads the database. */
  invalidate(): void {
    this.cache.clear();
  }

  /** Tokens (prompt + completion) the ledger holds for a tenant, or one of its users, in a month. */
  tokensUsed(tenantId: string, userId: string | null, month: Period): number {
    this.beforeUsageRead();
    let q = this.db.kysely
      .selectFrom('usage_daily')
      .select(sql<number>`coalesce(sum(prompt_tokens + completion_tokens), 0)`.as('n'))
      .where('tenant_id', '=', tenantId)
      .where('day', '>=', dayKey(month.start))
      .where('day', '<', dayKey(month.end));
    if (userId !== null) q = q.where('user_id', '=', userId);
    return this.db.first(q)?.n ?? 0;
  }

  /**
   * Messages the ledger holds for a tenant, or one of its users, on a day: its rows of the
   * message endpoints (the rollups do not tell chat from embeddings). Read once a day per
   * tenant and user, from the usage_ledger_messages index (core/usage/messages.ts).
   */
  messagesSent(tenantId: string, userId: string | null, day: Period): number {
    this.beforeUsageRead();
    return messagesSent(this.db, tenantId, userId, day.start, day.end, this.messageEndpoints);
  }

  private cached<T>(key: string, load: () => T): T {
    const t = this.now();
    const hit = this.cache.get(key);
    if (hit && t - hit.at < this.cacheMs && t >= hit.at) return hit.value as T;
    const value = load();
    this.cache.set(key, { at: t, value });
    return value;
  }
}
