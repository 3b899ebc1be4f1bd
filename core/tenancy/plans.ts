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

/** The three plans every install starts with; the operator may edit them afterwards. */
const DEFAULT_PLANS = [
  {
    id: 'starter',
    name: 'Starter',
    max_users: 5,
    messages_per_day: 100,
    monthly_token_budget: 2_000_000,
    features: ['chat', 'memory', 'files'],
    weight: 1,
    max_concurrent: 2,
    requests_per_minute: 30,
    tokens_per_minute: 20_000,
  },
  {
    id: 'professional',
    name: 'Professional',
    max_users: 20,
    messages_per_day: 500,
    monthly_token_budget: 10_000_000,
    features: ['chat', 'memory', 'files', 'knowledge', 'web_search'],
    weight: 2,
    max_concurrent: 4,
    requests_per_minute: 120,
    tokens_per_minute: 100_000,
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    max_users: null,
    messages_per_day: null,
    monthly_token_budget: 100_000_000,
    features: [...FEATURES],
    weight: 4,
    max_concurrent: null,
    requests_per_minute: null,
    tokens_per_minute: null,
  },
] as const;

/** Inserts the three default plans if they are missing; never overwrites an edited plan. */
export function seedDefaultPlans(db: Db, models: { chatModel: string; embedModel: string }): void {
  const t = Date.now();
  const insert = db.sqlite.prepare(
    `INSERT OR IGNORE INTO plans (id, name, max_users, messages_per_day, monthly_token_budget, features,
       allowed_models, default_model, embed_model, weight, max_concurrent, requests_per_minute,
       tokens_per_minute, created_at, updated_at)
     VALUES (@id, @name, @max_users, @messages_per_day, @monthly_token_budget, @features,
       @allowed_models, @default_model, @embed_model, @weight, @max_concurrent, @requests_per_minute,
       @tokens_per_minute, @t, @t)`,
  );
  db.transaction(() => {
    for (const plan of DEFAULT_PLANS) {
      insert.run({
        ...plan,
        features: JSON.stringify(plan.features),
        // Enterprise may use every model the operator pulls; the others the two defaults.
        allowed_models: JSON.stringify(plan.id === 'enterprise' ? ['*'] : [models.chatModel, models.embedModel]),
        default_model: models.chatModel,
        embed_model: models.embedModel,
        t,
      });
    }
  });
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
  /** Requests of this tenant that may run on the GPU at once; null: no cap beyond the slots. */
  maxConcurrent: number | null;
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
    maxConcurrent: tenant.max_concurrent ?? p.max_concurrent,
  };
}

/** True when a model is allowed by a list of names ("*" allows all; a name without tag means ":latest"). */
export function modelAllowed(allowed: readonly string[], model: string): boolean {
  const norm = (m: string) => (m.includes(':') ? m : `${m}:latest`);
  return allowed.includes('*') || allowed.some((a) => norm(a) === norm(model));
}
