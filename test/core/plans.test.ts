import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/db/schema.js';
import { effectiveLimits, FEATURES, listPlans, modelAllowed, seedDefaultPlans } from '../../core/tenancy/plans.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
beforeEach(() => {
  t = tempDb();
});
afterEach(async () => {
  await t.cleanup();
});

const MODELS = { chatModel: 'llama3.1:8b', embedModel: 'nomic-embed-text' };

describe('seedDefaultPlans', () => {
  it('inserts starter, professional and enterprise with their limits', async () => {
    const plans = await listPlans(t.db);
    expect(plans.map((p) => p.id)).toEqual(['starter', 'professional', 'enterprise']);
    const [starter, professional, enterprise] = plans;

    expect(starter).toMatchObject({ max_users: 5, messages_per_day: 100 });
    expect(professional).toMatchObject({ max_users: 20, messages_per_day: 500 });
    expect(enterprise).toMatchObject({ max_users: null, messages_per_day: null });

    for (const p of plans) {
      expect(p.monthly_token_budget, p.id).toBeGreaterThan(0);
      expect(p.features, p.id).toContain('chat');
      expect(
        p.features.every((f) => (FEATURES as readonly string[]).includes(f)),
        p.id,
      ).toBe(true);
      expect(p.allowed_models.length, p.id).toBeGreaterThan(0);
      expect(p.default_model).toBe('llama3.1:8b');
      expect(p.embed_model).toBe('nomic-embed-text');
    }
    // Higher plans get more of the GPU, more tokens and more features.
    expect(starter!.weight).toBeLessThan(professional!.weight);
    expect(professional!.weight).toBeLessThan(enterprise!.weight);
    expect(starter!.monthly_token_budget!).toBeLessThan(professional!.monthly_token_budget!);
    expect(professional!.monthly_token_budget!).toBeLessThan(enterprise!.monthly_token_budget!);
    expect(starter!.features.length).toBeLessThan(professional!.features.length);
    expect([...enterprise!.features].sort()).toEqual([...FEATURES].sort());

    expect(starter!.allowed_models).toEqual(['llama3.1:8b', 'nomic-embed-text']);
    expect(enterprise!.allowed_models).toEqual(['*']);
  });

  it('uses the configured models', () => {
    t.db.sqlite.exec('DELETE FROM plans');
    seedDefaultPlans(t.db, { chatModel: 'qwen3:14b', embedModel: 'bge-m3' });
    const row = t.db.sqlite.prepare("SELECT * FROM plans WHERE id = 'starter'").get() as {
      default_model: string;
      embed_model: string;
      allowed_models: string;
    };
    expect(row.default_model).toBe('qwen3:14b');
    expect(row.embed_model).toBe('bge-m3');
    expect(JSON.parse(row.allowed_models)).toEqual(['qwen3:14b', 'bge-m3']);
  });

  it('is idempotent and never overwrites an edited plan', async () => {
    t.db.sqlite
      .prepare("UPDATE plans SET max_users = 7, name = 'Starter+', features = '[\"chat\"]' WHERE id = 'starter'")
      .run();
    t.db.sqlite.exec("DELETE FROM plans WHERE id = 'enterprise'");
    seedDefaultPlans(t.db, MODELS);
    seedDefaultPlans(t.db, { chatModel: 'other:1b', embedModel: 'other-embed' });

    const plans = await listPlans(t.db);
    expect(plans).toHaveLength(3);
    const starter = plans.find((p) => p.id === 'starter');
    expect(starter).toMatchObject({ name: 'Starter+', max_users: 7, features: ['chat'] });
    expect(starter!.default_model).toBe('llama3.1:8b');
    // A deleted default plan comes back.
    expect(plans.find((p) => p.id === 'enterprise')?.max_users).toBeNull();
  });
});

describe('effectiveLimits', () => {
  it("takes the tenant's overrides over its plan's values", async () => {
    const [starter] = await listPlans(t.db);
    const planRow = t.db.sqlite.prepare("SELECT * FROM plans WHERE id = 'starter'").get() as Parameters<
      typeof effectiveLimits
    >[1];
    const tenant: Tenant = {
      id: 't1',
      slug: 'acme',
      name: 'Acme',
      plan_id: 'starter',
      status: 'active',
      status_reason: null,
      default_model: null,
      max_users: null,
      messages_per_day: 300,
      monthly_token_budget: null,
      max_concurrent: null,
      created_at: 0,
      updated_at: 0,
    } as Tenant;
    const limits = effectiveLimits(tenant, planRow);
    expect(limits).toMatchObject({
      planId: 'starter',
      maxUsers: 5,
      messagesPerDay: 300,
      monthlyTokenBudget: starter!.monthly_token_budget,
      defaultModel: 'llama3.1:8b',
      allowedModels: ['llama3.1:8b', 'nomic-embed-text'],
    });
    expect(effectiveLimits({ ...tenant, max_users: 50, default_model: 'x:1b' }, planRow)).toMatchObject({
      maxUsers: 50,
      defaultModel: 'x:1b',
    });
  });
});

describe('modelAllowed', () => {
  it('allows everything with "*"', () => {
    expect(modelAllowed(['*'], 'anything:70b')).toBe(true);
    expect(modelAllowed(['llama3.1:8b', '*'], 'qwen3')).toBe(true);
  });

  it('matches exact names and treats a missing tag as :latest', () => {
    const allowed = ['llama3.1:8b', 'nomic-embed-text'];
    expect(modelAllowed(allowed, 'llama3.1:8b')).toBe(true);
    expect(modelAllowed(allowed, 'nomic-embed-text')).toBe(true);
    expect(modelAllowed(allowed, 'nomic-embed-text:latest')).toBe(true);
    expect(modelAllowed(['mistral:latest'], 'mistral')).toBe(true);
  });

  it('refuses other models and other tags', () => {
    const allowed = ['llama3.1:8b', 'nomic-embed-text'];
    expect(modelAllowed(allowed, 'llama3.1')).toBe(false);
    expect(modelAllowed(allowed, 'llama3.1:70b')).toBe(false);
    expect(modelAllowed(allowed, 'nomic-embed-text:v1.5')).toBe(false);
    expect(modelAllowed(allowed, 'llama3.1:8b-instruct')).toBe(false);
    expect(modelAllowed([], 'llama3.1:8b')).toBe(false);
  });
});
