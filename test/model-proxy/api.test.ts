/**
 * The proxy's two APIs driven by the real `ollama` and `openai` clients, through the whole
 * pipeline (limits, fair queue, backend pool, meter), plus metrics and refusals.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageLedgerTable } from '../../core/db/schema.js';
import { createApiKey } from '../../core/tenancy/api-keys.js';
import { createTenant, setTenantStatus } from '../../core/tenancy/tenants.js';
import { type FakeOllama, startFakeOllama } from '../fakes/ollama.js';
import { testConfig } from '../helpers/config.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let fake: FakeOllama;
let proxy: TestProxy;
let starterKey: string;
let enterpriseKey: string;
let starterId: string;

/** The fake's last record of a path (health checks hit /api/tags in between). */
const lastSeen = (path: string) => fake.requests.filter((r) => r.path === path).at(-1)!;
const rowFor = (requestId: string | null) =>
  t.db.sqlite.prepare('SELECT * FROM usage_ledger WHERE request_id = ?').get(requestId) as UsageLedgerTable | undefined;
const until = async (check: () => boolean) => {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  return check();
};

beforeAll(async () => {
  t = tempDb();
  fake = await startFakeOllama({ tokens: 5, models: ['llama3.1:8b', 'nomic-embed-text', 'qwen2.5:72b'] });
  proxy = await startTestProxy(t.db, testConfig(t.dir, { OLLAMA_URLS: fake.url }), {
    healthIntervalMs: 200,
    healthTimeoutMs: 5_000,
  });
  const starter = await createTenant(t.db, t.sealer, { name: 'ABC Steel', slug: 'abc-steel' }, { actor: 'test' });
  starterId = starter.id;
  starterKey = (await createApiKey(t.db, starter.id, { name: 'ci' }, { actor: 'test' })).key;
  const big = await createTenant(
    t.db,
    t.sealer,
    { name: 'Big Co', slug: 'big', planId: 'enterprise' },
    { actor: 'test' },
  );
  enterpriseKey = (await createApiKey(t.db, big.id, { name: 'ci' }, { actor: 'test' })).key;
  await proxy.proxy.pool.checkNow();
});

afterAll(async () => {
  await proxy.close();
  await fake.close();
  await t.cleanup();
});

describe('the Ollama-compatible API with the ollama client', () => {
  const client = () => new Ollama({ host: proxy.url, headers: { authorization: `Bearer ${starterKey}` } });

  it('lists only the models the plan allows', async () => {
    const { models } = await client().list();
    expect(models.map((m) => m.name).sort()).toEqual(['llama3.1:8b', 'nomic-embed-text:latest']);
  });

  it('streams /api/generate and meters it exactly', async () => {
    const stream = await client().generate({ model: 'llama3.1:8b', prompt: 'Describe a fillet weld.', stream: true });
    let text = '';
    for await (const part of stream) text += part.response;
    const seen = lastSeen('/api/generate');
    expect(text.length).toBeGreaterThan(0);
    const generated = () => t.db.sqlite.prepare("SELECT * FROM usage_ledger WHERE endpoint = '/api/generate'").get();
    expect(await until(() => generated() !== undefined)).toBe(true);
    const row = t.db.sqlite
      .prepare("SELECT * FROM usage_ledger WHERE endpoint = '/api/generate'")
      .get() as UsageLedgerTable;
    expect(row).toMatchObject({
      status: 'ok',
      exact: 1,
      prompt_tokens: seen.promptEvalCount,
      completion_tokens: seen.evalCount,
    });
  });

  it('meters embeddings with the prompt count and no completion', async () => {
    const res = await client().embed({ model: 'nomic-embed-text', input: ['beam', 'column'] });
    expect(res.embeddings).toHaveLength(2);
    const row = t.db.sqlite
      .prepare("SELECT * FROM usage_ledger WHERE endpoint = '/api/embed'")
      .get() as UsageLedgerTable;
    expect(row).toMatchObject({
      status: 'ok',
      exact: 1,
      prompt_tokens: lastSeen('/api/embed').promptEvalCount,
      completion_tokens: 0,
    });
  });
});

describe('the OpenAI-compatible API with the openai SDK', () => {
  const client = (key = starterKey) => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: key, maxRetries: 0 });

  it('answers a chat completion with usage equal to the ledger row', async () => {
    const res = await client()
      .chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    const row = rowFor(res.response.headers.get('x-request-id'));
    expect(res.data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(res.data.usage).toMatchObject({
      prompt_tokens: row?.prompt_tokens,
      completion_tokens: row?.completion_tokens,
    });
    expect(row).toMatchObject({ endpoint: '/v1/chat/completions', status: 'ok', exact: 1 });
  });

  it('streams with include_usage: the usage chunk equals what the backend reported', async () => {
    const stream = await client().chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    const seen = lastSeen('/api/chat');
    expect(text.length).toBeGreaterThan(0);
    expect(usage).toEqual({
      prompt_tokens: seen.promptEvalCount,
      completion_tokens: seen.evalCount,
      total_tokens: seen.promptEvalCount + seen.evalCount,
    });
  });

  it('returns embeddings (base64 by default in the SDK) and lists models', async () => {
    const res = await client().embeddings.create({ model: 'nomic-embed-text', input: 'girder' });
    expect(res.data[0]?.embedding.length).toBe(8);
    const models = await client().models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['llama3.1:8b', 'nomic-embed-text:latest']);
  });

  it('answers errors in OpenAI shape: 401, 403, 404, 400', async () => {
    await expect(client('ak_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb').models.list()).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    await expect(
      client().chat.completions.create({ model: 'qwen2.5:72b', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    const before = (t.db.sqlite.prepare('SELECT count(*) AS n FROM usage_ledger').get() as { n: number }).n;
    const missing = client(enterpriseKey).chat.completions.create({
      model: 'no-such-model:7b',
      messages: [{ role: 'user', content: 'x' }],
    });
    await expect(missing).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client().chat.completions.create({ model: 'llama3.1:8b', messages: 'nope' as never }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    expect((t.db.sqlite.prepare('SELECT count(*) AS n FROM usage_ledger').get() as { n: number }).n).toBe(before);
  });
});

describe('refusals and observability', () => {
  it('a suspended tenant gets 403 with the reason (within the one-second cache)', async () => {
    await setTenantStatus(t.db, starterId, 'suspended', { actor: 'test', reason: 'invoice overdue' });
    await new Promise((r) => setTimeout(r, 1_050));
    const res = await fetch(`${proxy.url}/api/tags`, { headers: { authorization: `Bearer ${starterKey}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'tenant is suspended: invoice overdue' });
    await setTenantStatus(t.db, starterId, 'active', { actor: 'test' });
  });

  it('GET /metrics exposes requests, tokens, latency, queue and backend series', async () => {
    const text = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(text).toMatch(
      /anvil_proxy_requests_total\{endpoint="\/v1\/chat\/completions",tenant="abc-steel",status="ok"\} [1-9]/,
    );
    expect(text).toMatch(/anvil_proxy_tokens_total\{tenant="abc-steel",model="llama3.1:8b",direction="out"\} [1-9]/);
    expect(text).toContain('anvil_proxy_time_to_first_token_seconds_bucket');
    expect(text).toContain('anvil_proxy_queue_wait_seconds_bucket');
    expect(text).toMatch(/anvil_proxy_backend_healthy\{backend="127\.0\.0\.1:\d+"\} 1/);
  });
});
