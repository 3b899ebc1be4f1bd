import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import {
  costMicros,
  listModelPrices,
  PRICE_CACHE_MS,
  priceFor,
  removeModelPrice,
  setModelPrice,
} from '../../core/usage/prices.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
beforeEach(() => {
  t = tempDb();
});
afterEach(async () => {
  vi.useRealTimers();
  await t.cleanup();
});

const CLI = { actor: 'cli' };
const price = (input: number, output: number) => ({ inputMicrosPerMtok: input, outputMicrosPerMtok: output });

describe('priceFor', () => {
  it('finds a model\'s own price, else the plan\'s "*" price, else none', () => {
    setModelPrice(t.db, 'starter', 'llama3.1:8b', price(200_000, 600_000), CLI);
    expect(priceFor(t.db, 'starter', 'llama3.1:8b')).toEqual(price(200_000, 600_000));
    expect(priceFor(t.db, 'starter', 'qwen3:14b')).toBeNull();
    setModelPrice(t.db, 'starter', '*', price(100_000, 300_000), CLI);
    expect(priceFor(t.db, 'starter', 'qwen3:14b')).toEqual(price(100_000, 300_000));
    expect(priceFor(t.db, 'starter', 'llama3.1:8b')).toEqual(price(200_000, 600_000));
  });

  it('takes a name without a tag as ":latest", either way round', () => {
    setModelPrice(t.db, 'starter', 'mistral', price(1, 2), CLI);
    setModelPrice(t.db, 'starter', 'phi3:latest', price(3, 4), CLI);
    expect(priceFor(t.db, 'starter', 'mistral:latest')).toEqual(price(1, 2));
    expect(priceFor(t.db, 'starter', 'phi3')).toEqual(price(3, 4));
    expect(priceFor(t.db, 'starter', 'mistral:7b')).toBeNull();
  });

  it("never applies one plan's price, nor its default, to another plan", () => {
    setModelPrice(t.db, 'professional', 'llama3.1:8b', price(9, 9), CLI);
    setModelPrice(t.db, 'professional', '*', price(8, 8), CLI);
    expect(priceFor(t.db, 'starter', 'llama3.1:8b')).toBeNull();
    expect(priceFor(t.db, 'starter', 'other:1b')).toBeNull();
    setModelPrice(t.db, 'starter', '*', price(1, 1), CLI);
    expect(priceFor(t.db, 'starter', 'llama3.1:8b')).toEqual(price(1, 1));
    expect(priceFor(t.db, 'professional', 'llama3.1:8b')).toEqual(price(9, 9));
  });

  it('applies an edit made through setModelPrice at once, and one made elsewhere within the cache window', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-11-22T10:00:00Z'));
    setModelPrice(t.db, 'starter', '*', price(1, 1), CLI);
    expect(priceFor(t.db, 'starter', 'x:1b')).toEqual(price(1, 1));
    setModelPrice(t.db, 'starter', '*', price(2, 2), CLI);
    expect(priceFor(t.db, 'starter', 'x:1b')).toEqual(price(2, 2));

    // Another process (the console) edits the table directly.
    t.db.sqlite.prepare("UPDATE model_prices SET input_micros_per_mtok = 7 WHERE plan_id = 'starter'").run();
    vi.setSystemTime(Date.now() + PRICE_CACHE_MS - 1);
    expect(priceFor(t.db, 'starter', 'x:1b')).toEqual(price(2, 2));
    vi.setSystemTime(Date.now() + 1);
    expect(priceFor(t.db, 'starter', 'x:1b')).toEqual(price(7, 2));
  });
});

describe('costMicros', () => {
  it('is zero without a price', () => {
    expect(costMicros(null, 1_000_000, 1_000_000)).toBe(0);
    expect(costMicros(price(0, 0), 1_000_000, 1_000_000)).toBe(0);
  });

  it('multiplies tokens by the price per million and rounds the sum up to a whole micro-unit', () => {
    expect(costMicros(price(1_500_000, 6_000_000), 1_000_000, 0)).toBe(1_500_000);
    expect(costMicros(price(1_500_000, 6_000_000), 1_000, 500)).toBe(1_500 + 3_000);
    expect(costMicros(price(1, 1), 1, 0)).toBe(1); // a millionth of a micro-unit is still charged
    expect(costMicros(price(1, 1), 0, 0)).toBe(0);
    // Rounded once, on the sum: half a micro-unit twice is one, not two.
    expect(costMicros(price(1, 1), 500_000, 500_000)).toBe(1);
    expect(costMicros(price(1, 1), 500_001, 500_000)).toBe(2);
    expect(costMicros(price(333, 0), 1_000, 0)).toBe(1); // 0.333 → 1
  });

  it('stays exact for sizes beyond double precision', () => {
    // 9,007,199,254,740,991 tokens × 3 micro-units per million: the product passes 2^53.
    expect(costMicros(price(3, 0), Number.MAX_SAFE_INTEGER, 0)).toBe(27_021_597_765);
  });

  it('refuses token counts that cannot be', () => {
    expect(() => costMicros(price(1, 1), -1, 0)).toThrow(RangeError);
    expect(() => costMicros(price(1, 1), 0, 1.5)).toThrow(RangeError);
  });
});

describe('setModelPrice, removeModelPrice, listModelPrices', () => {
  it('replaces a price, audits each change and lists "*" first', () => {
    setModelPrice(t.db, 'starter', 'llama3.1:8b', price(1, 2), CLI);
    setModelPrice(t.db, 'starter', 'llama3.1:8b', price(3, 4), { actor: 'operator:op1' });
    setModelPrice(t.db, 'starter', '*', price(5, 6), CLI);
    expect(listModelPrices(t.db, 'starter').map((p) => [p.model, p.inputMicrosPerMtok, p.outputMicrosPerMtok])).toEqual(
      [
        ['*', 5, 6],
        ['llama3.1:8b', 3, 4],
      ],
    );
    expect(listModelPrices(t.db, 'professional')).toEqual([]);
    const audits = t.db.sqlite
      .prepare("SELECT actor, target FROM audit_log WHERE action = 'price.set' ORDER BY id")
      .all();
    expect(audits).toEqual([
      { actor: 'cli', target: 'starter/llama3.1:8b' },
      { actor: 'operator:op1', target: 'starter/llama3.1:8b' },
      { actor: 'cli', target: 'starter/*' },
    ]);

    expect(removeModelPrice(t.db, 'starter', 'llama3.1:8b', CLI)).toBe(true);
    expect(removeModelPrice(t.db, 'starter', 'llama3.1:8b', CLI)).toBe(false);
    expect(priceFor(t.db, 'starter', 'llama3.1:8b')).toEqual(price(5, 6));
  });

  it('refuses bad prices and unknown plans, writing nothing', () => {
    expect(() => setModelPrice(t.db, 'starter', 'm:1b', price(-1, 0), CLI)).toThrow(ValidationError);
    expect(() => setModelPrice(t.db, 'starter', 'm:1b', price(1.5, 0), CLI)).toThrow(/whole micro-units/);
    expect(() => setModelPrice(t.db, 'starter', '  ', price(1, 0), CLI)).toThrow(ValidationError);
    expect(() => setModelPrice(t.db, 'gold', 'm:1b', price(1, 0), CLI)).toThrow(NotFoundError);
    expect(t.db.sqlite.prepare('SELECT count(*) FROM model_prices').pluck().get()).toBe(0);
    expect(t.db.sqlite.prepare("SELECT count(*) FROM audit_log WHERE action LIKE 'price.%'").pluck().get()).toBe(0);
  });

  it("removes a plan's prices with the plan", () => {
    setModelPrice(t.db, 'enterprise', '*', price(1, 1), CLI);
    t.db.sqlite.exec("DELETE FROM plans WHERE id = 'enterprise'");
    expect(t.db.sqlite.prepare('SELECT count(*) FROM model_prices').pluck().get()).toBe(0);
  });
});
