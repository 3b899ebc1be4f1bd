import { afterEach, describe, expect, it } from 'vitest';
import { type LimitsFixture, limitsFixture, refused } from './fixture.js';

let f: LimitsFixture;
afterEach(async () => {
  await f.t.cleanup();
});

describe('Reservation', () => {
  it('gives everything back on cancel: tokens, the message and the request slot', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: 1_000, messages_per_day: 1, requests_per_minute: 1, tokens_per_minute: 1_000 });
    const hold = f.limits.reserve(f.chat, { tokens: 1_000 });
    refused(() => f.limits.reserve(f.chat, { tokens: 1 }));
    hold.cancel();
    const snap = f.limits.snapshot(f.tenant.id);
    expect(snap.monthlyTokens).toMatchObject({ used: 0, reserved: 0, remaining: 1_000 });
    expect(snap.messagesToday).toMatchObject({ used: 0, reserved: 0 });
    expect(snap.requestsPerMinute).toMatchObject({ used: 0, remaining: 1 });
    expect(snap.tokensPerMinute).toMatchObject({ used: 0, reserved: 0 });
    f.limits.reserve(f.chat, { tokens: 1_000 }).settle(1_000);
  });

  it('takes effect once: a second settle, or a cancel after a settle, changes nothing', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    const user = f.addUser();
    const key = await f.addKey();
    const subject = { ...f.chat, userId: user, apiKeyId: key };
    const hold = f.limits.reserve(subject, { tokens: 500 });
    hold.settle(100);
    hold.settle(100);
    hold.cancel();
    const snap = f.limits.snapshot(f.tenant.id, { userId: user, apiKeyId: key });
    expect(snap.monthlyTokens).toMatchObject({ used: 100, reserved: 0 });
    expect(snap.messagesToday).toMatchObject({ used: 1, reserved: 0 });
    expect(snap.user?.monthlyTokens).toMatchObject({ used: 100, reserved: 0 });
    expect(snap.apiKey?.tokensPerMinute).toMatchObject({ used: 100, reserved: 0 });
    expect(snap.apiKey?.requestsPerMinute).toMatchObject({ used: 1 });

    const cancelled = f.limits.reserve(subject, { tokens: 500 });
    cancelled.cancel();
    cancelled.settle(400);
    cancelled.cancel();
    const after = f.limits.snapshot(f.tenant.id, { userId: user, apiKeyId: key });
    expect(after.monthlyTokens).toMatchObject({ used: 100, reserved: 0 });
    expect(after.messagesToday.used).toBe(1);
    expect(after.apiKey?.requestsPerMinute.used).toBe(1);
  });

  it('counts a settle it cannot believe as the worst case, and rejects a nonsense reservation', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.limits.reserve(f.chat, { tokens: 700 }).settle(Number.NaN);
    f.limits.reserve(f.chat, { tokens: 10.2 }).settle(-5);
    expect(f.limits.snapshot(f.tenant.id).monthlyTokens.used).toBe(711);
    expect(() => f.limits.reserve(f.chat, { tokens: -1 })).toThrow(RangeError);
    expect(() => f.limits.reserve(f.chat, { tokens: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  it('refuses nothing and admits nothing partly: a refused request holds no limit', async () => {
    f = await limitsFixture({ plan: 'starter' });
    f.setTenant({ messages_per_day: 1000, monthly_token_budget: 1_000_000 });
    const key = await f.addKey({ tokens_per_minute: 100 });
    // Fits the budget, messages and the tenant's rates, but not the key's tokens per minute.
    refused(() => f.limits.reserve({ ...f.chat, apiKeyId: key }, { tokens: 200 }));
    const snap = f.limits.snapshot(f.tenant.id, { apiKeyId: key });
    expect(snap.monthlyTokens.reserved).toBe(0);
    expect(snap.messagesToday.reserved).toBe(0);
    expect(snap.requestsPerMinute.used).toBe(0);
    expect(snap.tokensPerMinute.reserved).toBe(0);
    expect(snap.apiKey?.requestsPerMinute.used).toBe(0);
  });
});

describe('Limits.snapshot', () => {
  it('reports every limit with what is used, held and left, and when it resets', async () => {
    f = await limitsFixture({ plan: 'starter', at: '2026-11-22T10:00:00Z' });
    const user = f.addUser({ monthly_token_cap: 50_000, messages_per_day: 10 });
    f.record({ userId: user, promptTokens: 1_000, completionTokens: 500 });
    const hold = f.limits.reserve({ ...f.chat, userId: user }, { tokens: 4_000 });
    const snap = f.limits.snapshot(f.tenant.id, { userId: user });
    expect(snap).toEqual({
      tenantId: f.tenant.id,
      at: Date.parse('2026-11-22T10:00:00Z'),
      monthlyTokens: {
        limit: 2_000_000,
        used: 1_500,
        reserved: 4_000,
        remaining: 1_994_500,
        resetsAt: Date.parse('2026-12-01T00:00:00Z'),
      },
      messagesToday: { limit: 100, used: 1, reserved: 1, remaining: 98, resetsAt: Date.parse('2026-11-23T00:00:00Z') },
      requestsPerMinute: { limit: 30, used: 1, reserved: 0, remaining: 29 },
      tokensPerMinute: { limit: 20_000, used: 0, reserved: 4_000, remaining: 16_000 },
      user: {
        userId: user,
        monthlyTokens: {
          limit: 50_000,
          used: 1_500,
          reserved: 4_000,
          remaining: 44_500,
          resetsAt: Date.parse('2026-12-01T00:00:00Z'),
        },
        messagesToday: { limit: 10, used: 1, reserved: 1, remaining: 8, resetsAt: Date.parse('2026-11-23T00:00:00Z') },
      },
      apiKey: null,
    });
    hold.cancel();
  });

  it('says null for unlimited', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    const snap = f.limits.snapshot(f.tenant.id);
    expect(snap.messagesToday).toMatchObject({ limit: null, remaining: null });
    expect(snap.requestsPerMinute).toMatchObject({ limit: null, remaining: null });
    expect(snap.tokensPerMinute).toMatchObject({ limit: null, remaining: null });
  });
});
