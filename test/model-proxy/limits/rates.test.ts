import { afterEach, describe, expect, it } from 'vitest';
import { type LimitsFixture, limitsFixture, refused } from './fixture.js';

let f: LimitsFixture;
afterEach(async () => {
  await f.t.cleanup();
});

describe('requests per minute', () => {
  it("holds the tenant to its plan's 30 per sliding minute and says when to retry", async () => {
    f = await limitsFixture({ plan: 'starter' });
    f.limits.reserve(f.embed, { tokens: 1 }).settle(1);
    f.clock.advance(48_000);
    for (let i = 0; i < 29; i++) f.limits.reserve(f.embed, { tokens: 1 }).settle(1);
    const err = refused(() => f.limits.reserve(f.embed, { tokens: 1 }));
    expect(err.code).toBe('requests_per_minute');
    expect(err.message).toBe('30 requests per minute for this tenant; retry in 12 s');
    expect(err.retryAfterSeconds).toBe(12);

    f.clock.advance(11_999);
    refused(() => f.limits.reserve(f.embed, { tokens: 1 }));
    f.clock.advance(1);
    f.limits.reserve(f.embed, { tokens: 1 }).settle(1); // the first request left the window
    // The other 29 are still inside it: they expire 60 s after they were made.
    expect(refused(() => f.limits.reserve(f.embed, { tokens: 1 })).retryAfterSeconds).toBe(48);
    expect(f.limits.snapshot(f.tenant.id).requestsPerMinute).toMatchObject({ limit: 30, used: 30, remaining: 0 });
  });

  it('holds an API key to its own limit while the tenant has room, and other callers are not affected', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    const key = await f.addKey({ requests_per_minute: 2 });
    const other = await f.addKey();
    const viaKey = { ...f.embed, apiKeyId: key };
    f.limits.reserve(viaKey, { tokens: 1 }).settle(1);
    f.clock.advance(30_000);
    f.limits.reserve(viaKey, { tokens: 1 }).settle(1);
    const err = refused(() => f.limits.reserve(viaKey, { tokens: 1 }));
    expect(err.code).toBe('api_key_requests_per_minute');
    expect(err.message).toBe('2 requests per minute for this API key; retry in 30 s');
    f.limits.reserve({ ...f.embed, apiKeyId: other }, { tokens: 1 }).settle(1);
    f.limits.reserve(f.embed, { tokens: 1 }).settle(1);
    expect(f.limits.snapshot(f.tenant.id, { apiKeyId: key }).apiKey?.requestsPerMinute).toMatchObject({
      limit: 2,
      used: 2,
    });
  });

  it("counts a key's requests against the tenant's limit too", async () => {
    f = await limitsFixture({ plan: 'starter' });
    f.setTenant({ requests_per_minute: 2 });
    const key = await f.addKey();
    f.limits.reserve({ ...f.embed, apiKeyId: key }, { tokens: 1 }).settle(1);
    f.limits.reserve(f.embed, { tokens: 1 }).settle(1);
    expect(refused(() => f.limits.reserve({ ...f.embed, apiKeyId: key }, { tokens: 1 })).code).toBe(
      'requests_per_minute',
    );
  });

  it('applies a lowered limit once the cache window has passed', async () => {
    f = await limitsFixture({ plan: 'starter' });
    for (let i = 0; i < 5; i++) f.limits.reserve(f.embed, { tokens: 1 }).settle(1);
    f.t.db.sqlite.prepare("UPDATE plans SET requests_per_minute = 5 WHERE id = 'starter'").run();
    f.limits.reserve(f.embed, { tokens: 1 }).settle(1); // still the cached 30
    f.clock.advance(2_000);
    expect(refused(() => f.limits.reserve(f.embed, { tokens: 1 })).message).toMatch(/^5 requests per minute/);
  });
});

describe('tokens per minute', () => {
  it('holds the worst case while a request runs and counts the actual tokens once it settles', async () => {
    f = await limitsFixture({ plan: 'starter' }); // 20,000 tokens per minute
    const first = f.limits.reserve(f.chat, { tokens: 15_000 });
    const busy = refused(() => f.limits.reserve(f.chat, { tokens: 6_000 }));
    expect(busy.code).toBe('tokens_per_minute');
    expect(busy.message).toBe('20,000 tokens per minute for this tenant; retry in 5 s');

    f.clock.advance(1_000);
    first.settle(2_000);
    f.clock.advance(1_000);
    f.limits.reserve(f.chat, { tokens: 6_000 }).settle(6_000);
    expect(f.limits.snapshot(f.tenant.id).tokensPerMinute).toMatchObject({ used: 8_000, reserved: 0 });

    // 8,000 settled + 13,000 is 1,000 too many: room comes when the 2,000 settled at +1 s expire.
    const err = refused(() => f.limits.reserve(f.chat, { tokens: 13_000 }));
    expect(err.message).toBe('20,000 tokens per minute for this tenant; retry in 59 s');
    expect(err.retryAfterSeconds).toBe(59);
    f.clock.advance(59_000);
    f.limits.reserve(f.chat, { tokens: 13_000 }).cancel();
  });

  it('refuses a request larger than the whole minute, saying so', async () => {
    f = await limitsFixture({ plan: 'starter' });
    const err = refused(() => f.limits.reserve(f.chat, { tokens: 25_000 }));
    expect(err.message).toBe(
      'this request may use up to 25,000 tokens, more than the 20,000 tokens per minute allowed for this tenant; ask for fewer tokens',
    );
    expect(err.retryAfterSeconds).toBe(60);
  });

  it('holds an API key to its own tokens per minute', async () => {
    f = await limitsFixture({ plan: 'enterprise' });
    const key = await f.addKey({ tokens_per_minute: 1_000 });
    const viaKey = { ...f.chat, apiKeyId: key };
    f.limits.reserve(viaKey, { tokens: 800 }).settle(800);
    const err = refused(() => f.limits.reserve(viaKey, { tokens: 300 }));
    expect(err.code).toBe('api_key_tokens_per_minute');
    expect(err.message).toBe('1,000 tokens per minute for this API key; retry in 60 s');
    f.limits.reserve(f.chat, { tokens: 300 }).settle(300);
    f.clock.advance(60_000);
    f.limits.reserve(viaKey, { tokens: 300 }).settle(300);
    expect(f.limits.snapshot(f.tenant.id, { apiKeyId: key }).apiKey?.tokensPerMinute).toMatchObject({
      limit: 1_000,
      used: 300,
      remaining: 700,
    });
  });
});
