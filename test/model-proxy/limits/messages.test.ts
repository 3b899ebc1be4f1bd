import { afterEach, describe, expect, it } from 'vitest';
import { MESSAGE_ENDPOINTS, messagesSent, messagesSentQuery } from '../../../core/usage/messages.js';
import { type LimitsFixture, limitsFixture, refused } from './fixture.js';

let f: LimitsFixture;
afterEach(async () => {
  await f.t.cleanup();
});

describe('messages per day (tenant)', () => {
  it('counts chat and generate requests, not embeddings, and says when the day resets', async () => {
    f = await limitsFixture({ plan: 'enterprise', at: '2026-11-22T21:30:00Z' });
    f.setTenant({ messages_per_day: 3 });
    f.limits.reserve(f.chat, { tokens: 10 }).settle(10);
    f.limits.reserve({ ...f.chat, endpoint: '/api/generate' }, { tokens: 10 }).settle(10);
    f.limits.reserve({ ...f.chat, endpoint: '/v1/chat/completions' }, { tokens: 10 }).settle(10);
    const err = refused(() => f.limits.reserve(f.chat, { tokens: 10 }));
    expect(err.code).toBe('messages_per_day');
    expect(err.message).toBe('daily limit of 3 messages for this tenant reached; resets 2026-11-23 00:00 UTC');
    expect(err.retryAfterSeconds).toBe(2.5 * 3600);
    // Embeddings are not messages.
    f.limits.reserve(f.embed, { tokens: 10 }).settle(10);
    f.limits.reserve({ ...f.chat, endpoint: '/v1/embeddings' }, { tokens: 10 }).settle(10);
    expect(f.limits.snapshot(f.tenant.id).messagesToday).toMatchObject({ limit: 3, used: 3, remaining: 0 });
  });

  it('holds a message for a request in progress, and gives it back on cancel', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ messages_per_day: 1 });
    const hold = f.limits.reserve(f.chat, { tokens: 10 });
    const busy = refused(() => f.limits.reserve(f.chat, { tokens: 10 }));
    expect(busy.message).toBe('daily limit of 1 message for this tenant is held by requests in progress; retry in 5 s');
    hold.cancel();
    f.limits.reserve(f.chat, { tokens: 10 }).settle(0);
    refused(() => f.limits.reserve(f.chat, { tokens: 10 }));
  });

  it('rolls over at midnight UTC', async () => {
    f = await limitsFixture({ plan: 'enterprise', at: '2026-11-22T23:59:59Z' });
    f.setTenant({ messages_per_day: 1 });
    f.limits.reserve(f.chat, { tokens: 10 }).settle(10);
    expect(refused(() => f.limits.reserve(f.chat, { tokens: 10 })).retryAfterSeconds).toBe(1);
    f.clock.set('2026-11-23T00:00:00Z');
    f.limits.reserve(f.chat, { tokens: 10 }).settle(10);
    expect(refused(() => f.limits.reserve(f.chat, { tokens: 10 })).message).toContain('resets 2026-11-24 00:00 UTC');
  });

  it("counts today's message rows of the ledger after a restart, not yesterday's nor embeddings", async () => {
    f = await limitsFixture({ plan: 'enterprise', at: '2026-11-22T12:00:00Z' });
    f.setTenant({ messages_per_day: 3 });
    f.record({ endpoint: '/api/chat', startedAt: Date.parse('2026-11-22T00:00:00Z') });
    f.record({ endpoint: '/api/generate', startedAt: Date.parse('2026-11-22T11:00:00Z') });
    f.record({ endpoint: '/api/embed', startedAt: Date.parse('2026-11-22T11:00:00Z') });
    f.record({ endpoint: '/api/chat', startedAt: Date.parse('2026-11-21T23:59:59Z') });
    expect(f.limits.snapshot(f.tenant.id).messagesToday.used).toBe(2);
    f.limits.reserve(f.chat, { tokens: 10 }).settle(10);
    refused(() => f.limits.reserve(f.chat, { tokens: 10 }));
  });
});

describe('per-user caps', () => {
  it("refuses a user over their monthly token cap, and only that user; the tenant's budget counts everyone", async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    f.setTenant({ monthly_token_budget: 12_000 });
    const capped = f.addUser({ monthly_token_cap: 5_000 });
    const free = f.addUser();
    const as = (userId: string) => ({ ...f.chat, userId });

    f.limits.reserve(as(capped), { tokens: 5_000 }).settle(5_000);
    const err = refused(() => f.limits.reserve(as(capped), { tokens: 1 }));
    expect(err.code).toBe('user_monthly_token_cap');
    expect(err.message).toBe('monthly token cap of 5,000 tokens for this user reached; resets 2026-12-01 00:00 UTC');

    f.limits.reserve(as(free), { tokens: 7_000 }).settle(7_000);
    expect(refused(() => f.limits.reserve(as(free), { tokens: 1 })).code).toBe('monthly_token_budget');
    const snap = f.limits.snapshot(f.tenant.id, { userId: capped });
    expect(snap.monthlyTokens.used).toBe(12_000);
    expect(snap.user?.monthlyTokens).toMatchObject({ limit: 5_000, used: 5_000, remaining: 0 });
  });

  it("refuses a user over their messages per day, counting their own ledger rows of today's", async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    const capped = f.addUser({ messages_per_day: 2 });
    const other = f.addUser();
    f.record({ userId: capped, endpoint: '/api/chat' });
    f.record({ userId: other, endpoint: '/api/chat' });
    const as = (userId: string) => ({ ...f.chat, userId });

    f.limits.reserve(as(capped), { tokens: 10 }).settle(10);
    const err = refused(() => f.limits.reserve(as(capped), { tokens: 10 }));
    expect(err.code).toBe('user_messages_per_day');
    expect(err.message).toBe('daily limit of 2 messages for this user reached; resets 2026-11-23 00:00 UTC');
    f.limits.reserve(as(other), { tokens: 10 }).settle(10);
    // Embeddings still pass for the capped user.
    f.limits.reserve({ ...as(capped), endpoint: '/api/embed' }, { tokens: 10 }).settle(10);
    expect(f.limits.snapshot(f.tenant.id, { userId: capped }).user?.messagesToday).toMatchObject({
      limit: 2,
      used: 2,
    });
  });

  it("counts a user's token usage of this month from the ledger", async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    const capped = f.addUser({ monthly_token_cap: 1_000 });
    f.record({ userId: capped, promptTokens: 700, completionTokens: 200 });
    f.record({ userId: capped, promptTokens: 5_000, startedAt: Date.parse('2026-10-15T00:00:00Z') });
    f.record({ userId: null, promptTokens: 5_000 });
    const as = { ...f.chat, userId: capped };
    f.limits.reserve(as, { tokens: 100 }).settle(100);
    expect(refused(() => f.limits.reserve(as, { tokens: 1 })).code).toBe('user_monthly_token_cap');
  });
});

describe('messagesSent', () => {
  it("reads only the tenant's message rows, from an index, however many other rows it has", async () => {
    f = await limitsFixture({ plan: 'enterprise', at: '2026-11-22T12:00:00Z' });
    const day = Date.parse('2026-11-22T00:00:00Z');
    for (let i = 0; i < 30; i++) f.record({ endpoint: '/api/embed', startedAt: day + i * 1000 });
    f.record({ endpoint: '/api/chat', userId: 'u1', startedAt: day + 5 });
    f.record({ endpoint: '/v1/chat/completions', userId: 'u2', startedAt: day + 6 });
    f.record({ endpoint: '/api/chat', userId: 'u1', startedAt: day - 1 }); // yesterday
    const end = day + 86_400_000;
    expect(messagesSent(f.t.db, f.tenant.id, null, day, end)).toBe(2);
    expect(messagesSent(f.t.db, f.tenant.id, 'u1', day, end)).toBe(1);
    expect(messagesSent(f.t.db, 'another-tenant', null, day, end)).toBe(0);
    // The plan: a search of the covering index by tenant and endpoint, no table reads.
    for (const user of [null, 'u1']) {
      const q = messagesSentQuery(f.t.db, f.tenant.id, user, day, end, MESSAGE_ENDPOINTS).compile();
      const plan = f.t.db.sqlite.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[])) as {
        detail: string;
      }[];
      expect(plan.map((p) => p.detail)).toEqual([
        expect.stringMatching(
          /^SEARCH usage_ledger USING COVERING INDEX usage_ledger_messages \(tenant_id=\? AND endpoint=\? AND started_at>\? AND started_at<\?\)$/,
        ),
      ]);
    }
  });
});
