import { listModelPrices, removeModelPrice, setModelPrice } from '../../core/usage/prices.js';
import { type CliCommand, num, required, table, UsageError } from './runtime.js';

/** Parses a whole, non-negative number of micro-units from a flag. */
function micros(values: Record<string, string | boolean | undefined>, name: string): number {
  const text = required(values, name);
  if (!/^\d+$/.test(text))
    throw new UsageError(`--${name} is a whole number of micro-units per million tokens, e.g. 150000`);
  return Number(text);
}

/** `anvil price set`: what a model costs on a plan. */
export const priceSet: CliCommand = {
  name: 'price set',
  usage: 'price set --plan P --model M --input MICROS --output MICROS',
  summary: 'set a model\'s price on a plan, per million tokens in micro-units ("*" = plan default)',
  options: {
    plan: { type: 'string' },
    model: { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
  },
  async run(ctx, v) {
    const row = setModelPrice(
      ctx.db(),
      required(v, 'plan'),
      required(v, 'model'),
      { inputMicrosPerMtok: micros(v, 'input'), outputMicrosPerMtok: micros(v, 'output') },
      { actor: 'cli' },
    );
    if (ctx.json) return row;
    ctx.out(
      `${row.planId}/${row.model}: ${num(row.inputMicrosPerMtok)} in, ${num(row.outputMicrosPerMtok)} out (micro-units per million tokens).`,
    );
  },
};

/** `anvil price list`. */
export const priceList: CliCommand = {
  name: 'price list',
  usage: 'price list --plan P',
  summary: "a plan's price table",
  options: { plan: { type: 'string' } },
  async run(ctx, v) {
    const rows = listModelPrices(ctx.db(), required(v, 'plan'));
    if (ctx.json) return rows;
    if (!rows.length) return ctx.out('No prices: requests on this plan cost nothing.');
    ctx.out(
      table(
        ['MODEL', 'INPUT / MTOK', 'OUTPUT / MTOK'],
        rows.map((r) => [r.model, num(r.inputMicrosPerMtok), num(r.outputMicrosPerMtok)]),
      ),
    );
  },
};

/** `anvil price remove`. */
export const priceRemove: CliCommand = {
  name: 'price remove',
  usage: 'price remove --plan P --model M',
  summary: "remove a model's price from a plan",
  options: { plan: { type: 'string' }, model: { type: 'string' } },
  async run(ctx, v) {
    const plan = required(v, 'plan');
    const model = required(v, 'model');
    const removed = removeModelPrice(ctx.db(), plan, model, { actor: 'cli' });
    if (ctx.json) return { removed };
    ctx.out(removed ? `Removed the price of ${model} on ${plan}.` : `${plan} had no price for ${model}.`);
  },
};
