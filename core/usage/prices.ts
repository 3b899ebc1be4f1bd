import { z } from 'zod';
import { audit } from '../audit.js';
import type { Db } from '../db/index.js';
import { NotFoundError, ValidationError } from '../errors.js';

/**
 * What a model costs on a plan, in micro-units of the operator's currency per million
 * tokens (1 € per million input tokens is `inputMicrosPerMtok: 1_000_000`).
 */
export interface ModelPrice {
  inputMicrosPerMtok: number;
  outputMicrosPerMtok: number;
}

/** One row of a plan's price table; model "*" is the plan's default price. */
export interface ModelPriceRow extends ModelPrice {
  planId: string;
  model: string;
  updatedAt: number;
}

/** The model name that stands for "every model without a price of its own". */
export const DEFAULT_PRICE_MODEL = '*';

/** How long a plan's prices are trusted in memory: an edit made by another process applies within this. */
export const PRICE_CACHE_MS = 5_000;

const micros = z.number().int('prices are whole micro-units').min(0, 'a price cannot be negative').max(1e12);

/** Input of `setModelPrice`. */
export const modelPriceSchema = z.object({
  inputMicrosPerMtok: micros,
  outputMicrosPerMtok: micros,
});

const modelSchema = z.string().trim().min(1, 'a price needs a model name ("*" for the default)').max(200);

/** A model name as prices are keyed: a name without a tag means ":latest", as Ollama does. */
function priceKey(model: string): string {
  return model === DEFAULT_PRICE_MODEL || model.includes(':') ? model : `${model}:latest`;
}

interface PlanPrices {
  loadedAt: number;
  byModel: Map<string, ModelPrice>;
}

/** Per database, per plan: the plan's whole price table, loaded in one query. */
const caches = new WeakMap<Db, Map<string, PlanPrices>>();

function planPrices(db: Db, planId: string): Map<string, ModelPrice> {
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  const t = Date.now();
  const hit = cache.get(planId);
  if (hit && t - hit.loadedAt < PRICE_CACHE_MS && t >= hit.loadedAt) return hit.byModel;
  const rows = db.all(
    db.kysely
      .selectFrom('model_prices')
      .select(['model', 'input_micros_per_mtok', 'output_micros_per_mtok'])
      .where('plan_id', '=', planId),
  );
  const byModel = new Map<string, ModelPrice>();
  for (const r of rows) {
    byModel.set(priceKey(r.model), {
      inputMicrosPerMtok: r.input_micros_per_mtok,
      outputMicrosPerMtok: r.output_micros_per_mtok,
    });
  }
  cache.set(planId, { loadedAt: t, byModel });
  return byModel;
}

/**
 * The price of a model on a plan: its own row, else the plan's "*" row, else null (free).
 * Runs on every model request, so a plan's table is cached for `PRICE_CACHE_MS`; edits made
 * through `setModelPrice` in this process apply at once.
 */
export function priceFor(db: Db, planId: string, model: string): ModelPrice | null {
  const prices = planPrices(db, planId);
  return prices.get(priceKey(model)) ?? prices.get(DEFAULT_PRICE_MODEL) ?? null;
}

/**
 * The cost of a request in micro-units: tokens × price per million, summed and rounded up
 * to the next whole micro-unit, so no request that used tokens at a non-zero price is free.
 * Exact integer arithmetic whatever the sizes; no price means 0.
 */
export function costMicros(price: ModelPrice | null, promptTokens: number, completionTokens: number): number {
  if (!price) return 0;
  const tokens = (n: number, what: string): bigint => {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a whole number ≥ 0, got ${n}`);
    return BigInt(n);
  };
  const perMillion =
    tokens(promptTokens, 'prompt tokens') * BigInt(price.inputMicrosPerMtok) +
    tokens(completionTokens, 'completion tokens') * BigInt(price.outputMicrosPerMtok);
  return Number((perMillion + 999_999n) / 1_000_000n);
}

/** Forgets the cached prices of one database (all plans), e.g. after editing the table by hand. */
export function clearPriceCache(db: Db): void {
  caches.delete(db);
}

/**
 * Operator-level: sets (inserts or replaces) the price of a model on a plan, with an audit
 * entry. Model "*" sets the plan's default price. An unknown plan is refused.
 */
export function setModelPrice(
  db: Db,
  planId: string,
  model: string,
  price: z.input<typeof modelPriceSchema>,
  opts: { actor: string },
): ModelPriceRow {
  const parsedModel = modelSchema.safeParse(model);
  const parsedPrice = modelPriceSchema.safeParse(price);
  if (!parsedModel.success || !parsedPrice.success) {
    const issues = [...(parsedModel.error?.issues ?? []), ...(parsedPrice.error?.issues ?? [])];
    throw new ValidationError(issues.map((i) => `${i.path.join('.') || 'model'}: ${i.message}`).join('; '));
  }
  const row: ModelPriceRow = { planId, model: parsedModel.data, ...parsedPrice.data, updatedAt: Date.now() };
  db.transaction(() => {
    const plan = db.first(db.kysely.selectFrom('plans').select('id').where('id', '=', planId));
    if (!plan) throw new NotFoundError(`no plan "${planId}"`, 'plan_not_found');
    db.run(
      db.kysely
        .insertInto('model_prices')
        .values({
          plan_id: planId,
          model: row.model,
          input_micros_per_mtok: row.inputMicrosPerMtok,
          output_micros_per_mtok: row.outputMicrosPerMtok,
          updated_at: row.updatedAt,
        })
        .onConflict((oc) =>
          oc.columns(['plan_id', 'model']).doUpdateSet({
            input_micros_per_mtok: row.inputMicrosPerMtok,
            output_micros_per_mtok: row.outputMicrosPerMtok,
            updated_at: row.updatedAt,
          }),
        ),
    );
    audit(db, {
      actor: opts.actor,
      action: 'price.set',
      target: `${planId}/${row.model}`,
      detail: { input_micros_per_mtok: row.inputMicrosPerMtok, output_micros_per_mtok: row.outputMicrosPerMtok },
    });
  });
  caches.get(db)?.delete(planId);
  return row;
}

/** Operator-level: removes a model's price from a plan; true when there was one. */
export function removeModelPrice(db: Db, planId: string, model: string, opts: { actor: string }): boolean {
  const removed = db.transaction(() => {
    const n = db.run(db.kysely.deleteFrom('model_prices').where('plan_id', '=', planId).where('model', '=', model));
    if (n > 0) audit(db, { actor: opts.actor, action: 'price.remove', target: `${planId}/${model}` });
    return n > 0;
  });
  caches.get(db)?.delete(planId);
  return removed;
}

/** A plan's price table, "*" first, then by model. */
export function listModelPrices(db: Db, planId: string): ModelPriceRow[] {
  const rows = db.all(db.kysely.selectFrom('model_prices').selectAll().where('plan_id', '=', planId).orderBy('model'));
  return rows
    .map((r) => ({
      planId: r.plan_id,
      model: r.model,
      inputMicrosPerMtok: r.input_micros_per_mtok,
      outputMicrosPerMtok: r.output_micros_per_mtok,
      updatedAt: r.updated_at,
    }))
    .sort((a, b) => Number(b.model === DEFAULT_PRICE_MODEL) - Number(a.model === DEFAULT_PRICE_MODEL));
}
