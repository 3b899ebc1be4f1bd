import { Ollama } from 'ollama';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UsageLedgerTable } from '../../core/db/schema.js';
import { createApiKey, revokeApiKeyAsOperator } from '../../core/tenancy/api-keys.js';
import { createInvite, redeemInvite } from '../../core/tenancy/invites.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { type FakeOllama, startFakeOllama } from '../fakes/ollama.js';
import { TEST_INTERNAL_TOKEN, testConfig } from '../helpers/config.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let fake: FakeOllama;
let proxy: TestProxy;
let url: string;
let key: string;
let tenantId: string;
let otherTenantsUser: string;
let userId: string;

const rows = () => t.db.sqlite.prepare('SELECT * FROM usage_ledger ORDER BY started_at').all() as UsageLedgerTable[];
const lastRow = () => rows().at(-1) as UsageLedgerTable;
const post = (path: string, body: string, auth = `Bearer ${key}`) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body,
  });
const waitFor = async (check: () => boolean, ms = 3_000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeAll(async () => {
  t = tempDb();
  fake = await startFakeOllama({ tokens: 6 });
  const config = testConfig(t.dir, { OLLAMA_URLS: fake.url });
  proxy = await startTestProxy(t.db, config);
  url = proxy.url;
  const tenant = await createTenant(t.db, t.sealer, { name: 'ABC Steel', slug: 'abc-steel' }, { actor: 'test' });
  tenantId = tenant.id;
  key = (await createApiKey(t.db, tenant.id, { name: 'ci' }, { actor: 'test' })).key;
  const invite = await createInvite(t.db, tenant.id, {}, { actor: 'test' });
  userId = (await redeemInvite(t.db, invite.code, { telegramUserId: 1, displayName: 'Ann' })).user.id;
  const other = await createTenant(t.db, t.sealer, { name: 'Other', slug: 'other' }, { actor: 'test' });
  const otherInvite = await createInvite(t.db, other.id, {}, { actor: 'test' });
  otherTenantsUser = (await redeemInvite(t.db, otherInvite.code, { telegramUserId: 2, displayName: 'Bo' })).user.id;
});

afterAll(async () => {
  await proxy.close();
  await fake.close();
  await t.cleanup();
});

afterEach(() => {
  fake.configure({ tokens: 6, chunkDelayMs: 0 });
  fake.setDown(false);
});

describe('POST /api/chat', () => {
  it('answers a non-streamed chat from the ollama client and meters the exact counts', async () => {
    const client = new Ollama({ host: url, headers: { authorization: `Bearer ${key}` } });
    const res = await client.chat({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'How thick is S355 plate?' }],
      stream: false,
    });
    const seen = fake.requests.filter((r) => r.path === '/api/chat').at(-1)!;
    expect(res.message.content.length).toBeGreaterThan(0);
    expect(res.eval_count).toBe(seen.evalCount);
    const row = lastRow();
    expect(row).toMatchObject({
      tenant_id: tenantId,
      model: 'llama3.1:8b',
      endpoint: '/api/chat',
      status: 'ok',
      exact: 1,
      prompt_tokens: seen.promptEvalCount,
      completion_tokens: seen.evalCount,
      api_key_id: key.split('_')[1],
    });
    const day = t.db.sqlite.prepare('SELECT * FROM usage_daily WHERE tenant_id = ?').get(tenantId) as {
      requests: number;
    };
    expect(day.requests).toBeGreaterThanOrEqual(1);
  });

  it('streams chunk by chunk and meters the final chunk', async () => {
    const client = new Ollama({ host: url, headers: { authorization: `Bearer ${key}` } });
    const stream = await client.chat({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
    });
    let pieces = 0;
    let final: { eval_count?: number; prompt_eval_count?: number } = {};
    for await (const part of stream) {
      if (part.done) final = part;
      else pieces++;
    }
    expect(pieces).toBe(6);
    await waitFor(() => lastRow().completion_tokens === 6 && lastRow().status === 'ok');
    expect(lastRow()).toMatchObject({
      prompt_tokens: final.prompt_eval_count,
      completion_tokens: final.eval_count,
      exact: 1,
    });
  });

  it('returns the request id in x-request-id and uses it as the ledger key', async () => {
    const res = await post(
      '/api/chat',
      JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'x' }], stream: false }),
    );
    await res.json();
    expect(res.headers.get('x-request-id')).toBe(lastRow().request_id);
  });

  it('accepts the internal token naming tenant and user, and records the user', async () => {
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}`, 'x-anvil-tenant': tenantId, 'x-anvil-user': userId },
      body: JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'x' }], stream: false }),
    });
    expect(res.status).toBe(200);
    await res.json();
    expect(lastRow()).toMatchObject({ tenant_id: tenantId, user_id: userId, api_key_id: null });
  });

  it("refuses the internal token naming another tenant's user (isolation)", async () => {
    const before = rows().length;
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_INTERNAL_TOKEN}`,
        'x-anvil-tenant': tenantId,
        'x-anvil-user': otherTenantsUser,
      },
      body: JSON.stringify({ model: 'llama3.1:8b', messages: [] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'X-Anvil-User is not a user of this tenant' });
    expect(rows().length).toBe(before);
  });
});

describe('bad input is refused clearly and records nothing', () => {
  const chat = JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'x' }], stream: false });

  it('a bad key, a missing key and a revoked key answer 401 in Ollama shape', async () => {
    const before = rows().length;
    const bad = await post('/api/chat', chat, 'Bearer ak_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'invalid API key' });
    expect((await post('/api/chat', chat, '')).status).toBe(401);
    const { key: doomed, view } = await createApiKey(t.db, tenantId, { name: 'doomed' }, { actor: 'test' });
    expect((await post('/api/chat', chat, `Bearer ${doomed}`)).status).toBe(200);
    await revokeApiKeyAsOperator(t.db, view.id, { actor: 'test' });
    // Key lookups are cached for at most a second: revocation takes effect within it.
    await new Promise((r) => setTimeout(r, 1_050));
    const revoked = await post('/api/chat', chat, `Bearer ${doomed}`);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual({ error: 'this API key has been revoked' });
    expect(rows().length).toBe(before + 1);
  });

  it('malformed JSON and a body without a model answer 400', async () => {
    const before = rows().length;
    const malformed = await post('/api/chat', '{"model": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toMatch(/not valid JSON/);
    const noModel = await post('/api/chat', JSON.stringify({ messages: [] }));
    expect(noModel.status).toBe(400);
    expect(((await noModel.json()) as { error: string }).error).toMatch(/^model:/);
    expect(rows().length).toBe(before);
  });

  it("a model outside the tenant's plan answers 403", async () => {
    const before = rows().length;
    const res = await post('/api/chat', JSON.stringify({ model: 'qwen2.5:72b', messages: [] }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/not included in the starter plan/);
    expect(rows().length).toBe(before);
  });

  it('an oversized body answers 413', async () => {
    const res = await post(
      '/api/chat',
      JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'x'.repeat(17 * 1024 * 1024) }] }),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'request body is larger than 16 MiB' });
  });

  it('an oversized body sent without a length (chunked) answers 413 once the limit is passed, with nothing billed', async () => {
    const before = rows().length;
    const piece = new TextEncoder().encode('x'.repeat(1024 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 40 MiB on offer; the proxy must stop reading long before the end.
        if (sent++ < 40) controller.enqueue(piece);
        else controller.close();
      },
    });
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'request body is larger than 16 MiB',
    );
    expect(rows().length).toBe(before);
  });

  it('an unreachable Ollama answers 503 in Ollama shape with Retry-After and records no tokens', async () => {
    fake.setDown(true);
    const res = await post('/api/chat', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(((await res.json()) as { error: string }).error).toMatch(/Ollama is unavailable/);
    // Refused by the pool (backend already marked down: no row) or failed at the backend
    // (an error row): either way nothing is billed.
    const row = rows().find((r) => r.request_id === res.headers.get('x-request-id'));
    if (row) expect(row).toMatchObject({ status: 'error', prompt_tokens: 0, completion_tokens: 0 });
  });
});

describe('streams that end early', () => {
  it('a client that disconnects mid-stream aborts the backend and is metered as aborted', async () => {
    fake.configure({ tokens: 200, chunkDelayMs: 5 });
    const res = await post(
      '/api/chat',
      JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'long' }] }),
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 5) {
      const { value } = await reader.read();
      received += new TextDecoder().decode(value).split('\n').filter(Boolean).length;
    }
    await reader.cancel();
    const requestId = res.headers.get('x-request-id');
    await waitFor(() => rows().some((r) => r.request_id === requestId));
    await waitFor(() => fake.requests.filter((r) => r.path === '/api/chat').at(-1)!.aborted);
    const row = rows().find((r) => r.request_id === requestId)!;
    expect(row.status).toBe('aborted');
    expect(row.exact).toBe(0);
    expect(row.completion_tokens).toBeGreaterThanOrEqual(5);
    expect(row.completion_tokens).toBeLessThanOrEqual(
      fake.requests.filter((r) => r.path === '/api/chat').at(-1)!.evalCount,
    );
    expect(fake.requests.filter((r) => r.path === '/api/chat').at(-1)!.evalCount).toBeLessThan(200);
  });

  it('a client that leaves a /v1 stream is metered as aborted with what the backend streamed', async () => {
    fake.configure({ tokens: 200, chunkDelayMs: 5 });
    const res = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'llama3.1:8b', stream: true, messages: [{ role: 'user', content: 'long' }] }),
    );
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let events = 0;
    while (events < 5) {
      const { value } = await reader.read();
      events += new TextDecoder()
        .decode(value)
        .split('\n\n')
        .filter((e) => e.startsWith('data: {')).length;
    }
    await reader.cancel();
    const requestId = res.headers.get('x-request-id');
    await waitFor(() => rows().some((r) => r.request_id === requestId));
    const sent = fake.requests.filter((r) => r.path === '/api/chat').at(-1)!;
    await waitFor(() => sent.aborted);
    const row = rows().find((r) => r.request_id === requestId)!;
    expect(row).toMatchObject({ status: 'aborted', endpoint: '/v1/chat/completions', exact: 0 });
    // Every token the backend emitted is counted, including those the client never read.
    expect(row.completion_tokens).toBe(sent.evalCount);
    expect(sent.evalCount).toBeGreaterThanOrEqual(5);
    expect(sent.evalCount).toBeLessThan(200);
  });

  it('an error line mid-stream reaches the client and is metered as error with what was streamed', async () => {
    fake.midStreamErrorNext(3, 'CUDA error: out of memory');
    const res = await post(
      '/api/chat',
      JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'x' }] }),
    );
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error?: string });
    expect(lines.at(-1)).toEqual({ error: 'CUDA error: out of memory' });
    await waitFor(() => lastRow().request_id === res.headers.get('x-request-id'));
    expect(lastRow()).toMatchObject({ status: 'error', completion_tokens: 3, error: 'CUDA error: out of memory' });
  });
});
