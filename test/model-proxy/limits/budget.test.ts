import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LimitError } from '../../../core/errors.js';
import { Limits, type Reservation } from '../../../model-proxy/limits/index.js';
import { type LimitsFixture, limitsFixture, refused } from './fixture.js';

let f: LimitsFixture;
afterEach(async () => {
  await f.t.cleanup();
});

const WANT = 1_000;
const BUDGET = 20 * WANT;

describe('monthly token budget under concurrency', () => {
  it('admits exactly the 20 of 200 concurrent requests that fit, and spends no more than the budget', async () => {
    // Enterprise: no rate limits, so the budget is the only limit in play.
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: BUDGET });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async () => {
        let hold: Reservation;
        try {
          hold = f.limits.reserve(f.chat, { tokens: WANT });
        } catch (err) {
          return { err };
        }
        await sleep(Math.random() * 5);
        const actual = Math.floor(Math.random() * (WANT + 1));
        f.record({ promptTokens: actual, completionTokens: 0 });
        hold.settle(actual);
        return { actual };
      }),
    );
    const admitted = outcomes.filter((o) => 'actual' in o);
    const refusals = outcomes.flatMap((o) => ('err' in o ? [o.err] : []));
    expect(admitted).toHaveLength(20);
    expect(refusals).toHaveLength(180);
    for (const err of refusals) {
      expect(err).toBeInstanceOf(LimitError);
      expect((err as LimitError).code).toBe('monthly_token_budget');
      expect((err as LimitError).message).toMatch(/^monthly token budget of 20,000 tokens/);
    }
    const spent = admitted.reduce((sum, o) => sum + (o.actual ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(BUDGET);
    const snap = f.limits.snapshot(f.tenant.id).monthlyTokens;
    expect(snap).toMatchObject({ limit: BUDGET, used: spent, reserved: 0 });
    // The ledger agrees with what was settled.
    expect(f.restart().snapshot(f.tenant.id).monthlyTokens.used).toBe(spent);
  });

  it('never overshoots when requests arrive and settle interleaved', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: BUDGET });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async () => {
        await sleep(Math.random() * 20);
        let hold: Reservation;
        try {
          hold = f.limits.reserve(f.chat, { tokens: WANT });
        } catch (err) {
          return { err: err as LimitError };
        }
        await sleep(Math.random() * 5);
        hold.settle(WANT);
        return { ok: true };
      }),
    );
    expect(outcomes.filter((o) => 'ok' in o)).toHaveLength(20);
    expect(f.limits.snapshot(f.tenant.id).monthlyTokens).toMatchObject({ used: BUDGET, reserved: 0, remaining: 0 });
    const last = refused(() => f.limits.reserve(f.chat, { tokens: 1 }));
    expect(last.message).toBe('monthly token budget of 20,000 tokens reached; resets 2026-12-01 00:00 UTC');
  });
});

describe('monthly token budget', () => {
  it('says when a request held by requests in progress may be retried, and when the budget resets', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: 10_000 });
    const hold = f.limits.reserve(f.chat, { tokens: 8_000 });
    const busy = refused(() => f.limits.reserve(f.chat, { tokens: 3_000 }));
    expect(busy.message).toBe('monthly token budget of 10,000 tokens is held by requests in progress; retry in 5 s');
    expect(busy.retryAfterSeconds).toBe(5);

    hold.settle(8_000);
    const tooBig = refused(() => f.limits.reserve(f.chat, { tokens: 3_000 }));
    expect(tooBig.message).toBe(
      'monthly token budget of 10,000 tokens: 2,000 left this month, and this request may use up to 3,000; resets 2026-12-01 00:00 UTC',
    );
    // 2026-11-22 10:00 → 2026-12-01 00:00 is 8 days and 14 hours.
    expect(tooBig.retryAfterSeconds).toBe((8 * 24 + 14) * 3600);
    f.limits.reserve(f.chat, { tokens: 2_000 }).settle(2_000);
    const reached = refused(() => f.limits.reserve(f.embed, { tokens: 1 }));
    expect(reached.message).toBe('monthly token budget of 10,000 tokens reached; resets 2026-12-01 00:00 UTC');
  });

  it("counts this month's usage already in the ledger, not last month's nor another tenant's", async () => {
    f = await limitsFixture({ plan: 'enterprise', at: '2026-11-22T10:00:00Z' });
    f.setTenant({ monthly_token_budget: 20_000 });
    f.record({ promptTokens: 9_000, completionTokens: 6_000, startedAt: Date.parse('2026-11-01T00:00:00Z') });
    f.record({ promptTokens: 50_000, completionTokens: 0, startedAt: Date.parse('2026-10-31T23:59:59Z') });
    f.record({ promptTokens: 50_000, completionTokens: 0, startedAt: Date.parse('2026-12-01T00:00:00Z') });
    const other = await f.addTenant('other');
    f.record({ tenantId: other, promptTokens: 50_000 });

    expect(f.limits.snapshot(f.tenant.id).monthlyTokens).toMatchObject({ used: 15_000, remaining: 5_000 });
    f.limits.reserve(f.chat, { tokens: 5_000 }).settle(5_000);
    refused(() => f.limits.reserve(f.chat, { tokens: 1 }));
  });

  it('counts a settled count above the hold in full (an underestimate overshoots by itself only)', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: 1_000 });
    f.limits.reserve(f.chat, { tokens: 1_000 }).settle(1_300);
    expect(f.limits.snapshot(f.tenant.id).monthlyTokens).toMatchObject({ used: 1_300, remaining: 0 });
    expect(refused(() => f.limits.reserve(f.chat, { tokens: 1 })).message).toContain('reached');
  });

  it('rolls over at the start of the UTC month, and a request straddling it counts in the month it started', async () => {
    f = await limitsFixture({ plan: 'enterprise', at: '2026-11-30T23:59:50Z' });
    f.setTenant({ monthly_token_budget: 1_000 });
    f.limits.reserve(f.chat, { tokens: 600 }).settle(600);
    const straddling = f.limits.reserve(f.chat, { tokens: 400 });
    const err = refused(() => f.limits.reserve(f.chat, { tokens: 500 }));
    expect(err.message).toContain('resets 2026-12-01 00:00 UTC');
    expect(err.retryAfterSeconds).toBe(10);

    f.clock.set('2026-12-01T00:00:00Z');
    straddling.settle(400);
    const snap = f.limits.snapshot(f.tenant.id).monthlyTokens;
    expect(snap).toMatchObject({
      used: 0,
      reserved: 0,
      remaining: 1_000,
      resetsAt: Date.parse('2027-01-01T00:00:00Z'),
    });
    f.limits.reserve(f.chat, { tokens: 1_000 }).settle(1_000);
    expect(refused(() => f.limits.reserve(f.chat, { tokens: 1 })).message).toBe(
      'monthly token budget of 1,000 tokens reached; resets 2027-01-01 00:00 UTC',
    );
  });

  it('applies a budget changed in the database once the cache window has passed', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: 10_000 });
    f.limits.reserve(f.chat, { tokens: 8_000 }).settle(8_000);
    refused(() => f.limits.reserve(f.chat, { tokens: 5_000 }));
    f.setTenant({ monthly_token_budget: 20_000 });
    f.clock.advance(1_000);
    refused(() => f.limits.reserve(f.chat, { tokens: 5_000 }));
    f.clock.advance(1_000);
    expect(f.limits.reserve(f.chat, { tokens: 5_000 }).tokens).toBe(5_000);
    // Back to the plan's budget when the override is cleared.
    f.setTenant({ monthly_token_budget: null });
    f.clock.advance(2_000);
    expect(f.limits.snapshot(f.tenant.id).monthlyTokens.limit).toBe(100_000_000);
  });

  it('refuses an unknown tenant', async () => {
    f = await limitsFixture();
    expect(() => f.limits.reserve({ ...f.chat, tenantId: 'nope' }, { tokens: 1 })).toThrow(/no such tenant/);
  });
});

describe('usage still queued in the ledger', () => {
  it('is committed and counted when a counter starts (beforeUsageRead), not missed', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: BUDGET });
    // The proxy queues its rows; they commit after the turn. A counter that starts in the
    // same turn must see them, or the budget could be passed.
    f.ledger.queue({
      requestId: 'queued-1',
      tenantId: f.tenant.id,
      userId: null,
      apiKeyId: null,
      model: 'llama3.1:8b',
      endpoint: '/api/chat',
      promptTokens: BUDGET - WANT / 2,
      completionTokens: 0,
      status: 'ok',
      backend: null,
      startedAt: f.clock.now(),
      durationMs: 1,
      costMicros: 0,
      exact: true,
    });
    const limits = new Limits(f.t.db, { now: f.clock.now, beforeUsageRead: () => f.ledger.flush() });
    expect(refused(() => limits.reserve(f.chat, { tokens: WANT })).message).toMatch(/budget/i);
    expect(limits.reserve(f.chat, { tokens: WANT / 4 })).toBeDefined();
  });
});
