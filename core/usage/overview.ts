import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import type { EffectiveLimits } from '../tenancy/plans.js';
import { type UsageTotals, usageReport, utcDay } from './ledger.js';
import { messagesToday } from './messages.js';

/** What `/usage` tells a tenant user: their own month, their tenant's budget and today. */
export interface UsageOverview {
  /** First UTC day of the month, YYYY-MM-DD. */
  from: string;
  /** Today (UTC), YYYY-MM-DD. */
  to: string;
  /** This user's model usage this month. */
  user: UsageTotals;
  /** The whole tenant's model usage this month. */
  tenant: UsageTotals;
  monthlyTokenBudget: number | null;
  /** Tokens left of the monthly budget (never negative); null when unlimited. */
  remainingTokens: number | null;
  /** Messages the tenant's users sent today, and the daily limit. */
  tenantMessagesToday: number;
  userMessagesToday: number;
  messagesPerDay: number | null;
}

/** First UTC day of the month of `at`, YYYY-MM-DD. */
export function monthStartDay(at = new Date()): string {
  return `${utcDay(at.getTime()).slice(0, 7)}-01`;
}

/** Tokens (prompt and completion) a tenant used since a UTC day, from the daily rollups. */
export async function tenantTokensSince(db: Db, tenantId: string, fromDay: string): Promise<number> {
  // A prepared statement: the gateway asks this before every answer.
  const row = db
    .prepare<{ n: number }>(
      'SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS n FROM usage_daily WHERE tenant_id = ? AND day >= ?',
    )
    .get(tenantId, fromDay);
  return row?.n ?? 0;
}

/**
 * A user's usage overview: tokens from the daily rollups, messages today as the proxy
 * counts them against the plan (its ledger rows of the message endpoints).
 */
export async function usageOverview(
  db: Db,
  tenantId: string,
  userId: string,
  limits: Pick<EffectiveLimits, 'monthlyTokenBudget' | 'messagesPerDay'>,
  at = new Date(),
): Promise<UsageOverview> {
  const to = utcDay(at.getTime());
  const from = monthStartDay(at);
  const tenant = (await usageReport(db, tenantId, from, to)).totals;
  const user = await db.kysely
    .selectFrom('usage_daily')
    .select([
      sql<number>`coalesce(sum(requests), 0)`.as('requests'),
      sql<number>`coalesce(sum(prompt_tokens), 0)`.as('prompt_tokens'),
      sql<number>`coalesce(sum(completion_tokens), 0)`.as('completion_tokens'),
      sql<number>`coalesce(sum(cost_micros), 0)`.as('cost_micros'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .executeTakeFirstOrThrow();
  const used = tenant.prompt_tokens + tenant.completion_tokens;
  const budget = limits.monthlyTokenBudget;
  return {
    from,
    to,
    user,
    tenant,
    monthlyTokenBudget: budget,
    remainingTokens: budget === null ? null : Math.max(0, budget - used),
    tenantMessagesToday: messagesToday(db, tenantId, null, at.getTime()),
    userMessagesToday: messagesToday(db, tenantId, userId, at.getTime()),
    messagesPerDay: limits.messagesPerDay,
  };
}
