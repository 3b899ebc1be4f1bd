import { migrate } from '../../core/db/migrate.js';
import { listPlans } from '../../core/tenancy/plans.js';
import { getTenantBySlug, monthStart } from '../../core/tenancy/tenants.js';
import { usageReport } from '../../core/usage/ledger.js';
import { type CliCommand, num, optionalString, required, table, UsageError } from './runtime.js';

/** `anvil migrate`. */
export const migrateCommand: CliCommand = {
  name: 'migrate',
  usage: 'migrate',
  summary: 'apply pending database migrations',
  options: {},
  async run(ctx) {
    const applied = migrate(ctx.db());
    if (ctx.json) return { applied };
    ctx.out(applied.length ? `Applied ${applied.join(', ')}.` : 'The database is up to date.');
  },
};

/** `anvil plan list`. */
export const planList: CliCommand = {
  name: 'plan list',
  usage: 'plan list',
  summary: 'the plans and their limits',
  options: {},
  async run(ctx) {
    const plans = await listPlans(ctx.db());
    if (ctx.json) return plans;
    ctx.out(
      table(
        ['PLAN', 'USERS', 'MESSAGES/DAY', 'TOKENS/MONTH', 'WEIGHT', 'MODELS', 'FEATURES'],
        plans.map((p) => [
          p.id,
          num(p.max_users),
          num(p.messages_per_day),
          num(p.monthly_token_budget),
          p.weight,
          p.allowed_models.join(','),
          p.features.join(','),
        ]),
      ),
    );
  },
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `anvil usage`: totals and per-model rows over a range of UTC days. */
export const usageCommand: CliCommand = {
  name: 'usage',
  usage: 'usage --tenant SLUG [--from YYYY-MM-DD] [--to YYYY-MM-DD]',
  summary: "a tenant's usage (default: this month)",
  options: { tenant: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
  async run(ctx, v) {
    const from = optionalString(v, 'from') ?? monthStart();
    const to = optionalString(v, 'to') ?? new Date().toISOString().slice(0, 10);
    for (const [flag, day] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (!DAY.test(day) || Number.isNaN(Date.parse(day)))
        throw new UsageError(`--${flag} must be a date like 2026-11-01`);
    }
    if (from > to) throw new UsageError('--from is after --to');
    const db = ctx.db();
    const tenant = await getTenantBySlug(db, required(v, 'tenant'));
    const report = await usageReport(db, tenant.id, from, to);
    if (ctx.json) return { tenant: tenant.slug, ...report };
    ctx.out(
      `${tenant.name}, ${from} to ${to}: ${num(report.totals.requests)} requests, ${num(report.totals.prompt_tokens)} prompt + ${num(report.totals.completion_tokens)} completion tokens`,
    );
    if (report.byModel.length) {
      ctx.out(
        table(
          ['MODEL', 'REQUESTS', 'PROMPT', 'COMPLETION'],
          report.byModel.map((m) => [m.model, num(m.requests), num(m.prompt_tokens), num(m.completion_tokens)]),
        ),
      );
    }
  },
};
