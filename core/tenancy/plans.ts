import type { Db } from '../db/index.js';
import type { Plan, Tenant } from '../db/schema.js';

/** What a plan lets a tenant's users do; `api` allows tenant API keys on the model proxy. */
export const FEATURES = ['chat', 'memory', 'files', 'knowledge', 'web_search', 'api'] as const;
export type Feature = (typeof FEATURES)[number];

/** A plan with its JSON columns decoded. */
export interface PlanView extends Omit<Plan, 'features' | 'allowed_models'> {
  features: Feature[];
  allowed_models: string[];
}

/** Decodes a plan row. */
export function planView(plan: Plan): PlanView {
  return {
    ...plan,
    features: JSON.parse(plan.features) as Feature[],
    allowed_models: JSON.parse(plan.allowed_models) as string[],
  };
}

/** Inserts the three default plans if they are missing; never overwrites an edited plan. */
export function seedDefaultPlans(db: Db, models: { chatModel: string; embedModel: string }): void {
  const t = Date.now();
  const both = JSON.stringify([models.chatModel, models.embedModel]);
  const insert = db.sqlite.prepare(
    `INSERT OR IGNORE INTO plans (id, name, max_users, messages_per_day, monthly_token_budget,
       features, allowed_models, default_model, embed_model, weight, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.sqlite.transaction(() => {
    insert.run(
      'starter',
      'Starter',
      5,
      100,
      2_000_000,
      JSON.stringify(['chat', 'memory', 'files']),
      both,
      models.chatModel,
      models.embedModel,
      1,
      t,
      t,
    );
    insert.run(
      'professional',
      'Professional',
      20,
      500,
      10_000_000,
      JSON.stringify(['chat', 'memory', 'files', 'knowledge', 'web_search']),
      both,
      models.chatModel,
      models.embedModel,
      2,
      t,
      t,
    );
    insert.run(
      'enterprise',
      'Enterprise',
      null,
      null,
      100_000_000,
      JSON.stringify(FEATURES),
      JSON.stringify(['*']),
      models.chatModel,
      models.embedModel,
      4,
      t,
      t,
    );
  })();
}

/** Every plan (operator-level: plans are not tenant data). */
export async function listPlans(db: Db): Promise<PlanView[]> {
  const rows = await db.kysely.selectFrom('plans').selectAll().orderBy('weight').orderBy('id').execute();
  return rows.map(planView);
}

/** A tenant's effective limits: its own overrides, else its plan's. NULL means unlimited. */
export interface EffectiveLimits {
  planId: string;
  maxUsers: number | null;
  messagesPerDay: number | null;
  monthlyTokenBudget: number | null;
  defaultModel: string;
  embedModel: string;
  allowedModels: string[];
  features: Feature[];
  weight: number;
}

/** Combines a tenant's overrides with its plan. */
export function effectiveLimits(tenant: Tenant, plan: Plan): EffectiveLimits {
  const p = planView(plan);
  return {
    planId: p.id,
    maxUsers: tenant.max_users ?? p.max_users,
    messagesPerDay: tenant.messages_per_day ?? p.messages_per_day,
    monthlyTokenBudget: tenant.monthly_token_budget ?? p.monthly_token_budget,
    defaultModel: tenant.default_model ?? p.default_model,
    embedModel: p.embed_model,
    allowedModels: p.allowed_models,
    features: p.features,
    weight: p.weight,
  };
}

/** True when a model is allowed by a list of names ("*" allows all; a name without tag means ":latest"). */
export function modelAllowed(allowed: readonly string[], model: string): boolean {
  const norm = (m: string) => (m.includes(':') ? m : `${m}:latest`);
  return allowed.includes('*') || allowed.some((a) => norm(a) === norm(model));
}
