import type { Db } from '../../core/db/index.js';
import type { Tenant, TenantUser } from '../../core/db/schema.js';
import { listUsers } from '../../core/tenancy/members.js';
import { type EffectiveLimits, effectiveLimits } from '../../core/tenancy/plans.js';
import { getTenantBySlug, listTenantsAcrossAll, monthStart, type TenantSummary } from '../../core/tenancy/tenants.js';
import { type UsageReport, usageReport } from '../../core/usage/ledger.js';

/** One row of the console's tenant list: the summary plus the budget its bar is drawn against. */
export interface TenantRow extends TenantSummary {
  /** The effective monthly token budget (the tenant's override, else its plan's); null is unlimited. */
  monthlyTokenBudget: number | null;
}

/**
 * Operator-level: every tenant with users, this month's tokens and its effective monthly
 * budget, for the tenant list.
 */
export async function tenantRowsAcrossAll(db: Db): Promise<TenantRow[]> {
  const [summaries, tenants, plans] = await Promise.all([
    listTenantsAcrossAll(db),
    db.kysely.selectFrom('tenants').selectAll().execute(),
    db.kysely.selectFrom('plans').selectAll().execute(),
  ]);
  const planById = new Map(plans.map((p) => [p.id, p]));
  const budgetById = new Map<string, number | null>();
  for (const tenant of tenants) {
    const plan = planById.get(tenant.plan_id);
    if (plan) budgetById.set(tenant.id, effectiveLimits(tenant, plan).monthlyTokenBudget);
  }
  return summaries.map((s) => ({ ...s, monthlyTokenBudget: budgetById.get(s.id) ?? null }));
}

/** Everything the tenant page shows about one tenant. */
export interface TenantOverview {
  tenant: Tenant;
  planName: string;
  limits: EffectiveLimits;
  users: TenantUser[];
  /** Usage from the first of this UTC month to today. */
  usage: UsageReport;
}

/** Loads one tenant's page by slug; NotFoundError for an unknown slug. */
export async function loadTenantOverview(db: Db, slug: string, at = new Date()): Promise<TenantOverview> {
  const tenant = await getTenantBySlug(db, slug);
  const plan = await db.kysely
    .selectFrom('plans')
    .selectAll()
    .where('id', '=', tenant.plan_id)
    .executeTakeFirstOrThrow();
  const [users, usage] = await Promise.all([
    listUsers(db, tenant.id),
    usageReport(db, tenant.id, monthStart(at), at.toISOString().slice(0, 10)),
  ]);
  return { tenant, planName: plan.name, limits: effectiveLimits(tenant, plan), users, usage };
}
