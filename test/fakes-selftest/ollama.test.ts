import { Ollama } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeOllama, startFakeOllama } from '../fakes/ollama.js';

const started: FakeOllama[] = [];
async function fake(opts?: Parameters<typeof startFakeOllama>[0]): Promise<FakeOllama> {
  const f = await startFakeOllama(opts);
  started.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((f) => f.close()));
});

/** ollama-js 0.6 throws a `ResponseError` but does not export the class. */
interface ResponseErrorLike {
  name: string;
  error: string;
  status_code: number;
}

const question = [{ role: 'user', content: 'Why is the sky blue?' }]; // 20 chars → 5 prompt tokens

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('fake Ollama, native API through the ollama client', () => {
  it('streams a chat as NDJSON chunks with a final stats chunk', async () => {
    const f = await fake();
    const client = new Ollama({ host: f.url });
    const parts = [];
    for await (const part of await client.chat({ model: 'llama3.1:8b', messages: question, stream: true })) {
      parts.push(part);
    }
    expect(parts).toHaveLength(6);
    expect(
      parts
        .slice(0, 5)
        .map((p) => p.message.content)
        .join(''),
    ).toBe('tok1 tok2 tok3 tok4 tok5');
    const last = parts[5];
    expect(last?.done).toBe(true);
    expect(last?.done_reason).toBe('stop');
    expect(last?.eval_count).toBe(5);
    expect(last?.prompt_eval_count).toBe(5);
    expect(last?.total_duration).toBeGreaterThan(0);
    expect(Number.isInteger(last?.eval_duration)).toBe(true);
    expect(Number.isNaN(Date.parse(String(last?.created_at)))).toBe(false);
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]).toMatchObject({
      path: '/api/chat',
      promptEvalCount: 5,
      evalCount: 5,
      finished: true,
      aborted: false,
      body: { model: 'llama3.1:8b', stream: true },
    });
  });

  it('answers a non-streamed chat with a custom reply and counts from the input', async () => {
    const f = await fake({ tokens: 3, reply: ({ messages }) => `echo:${messages.at(-1)?.content ?? ''}` });
    const client = new Ollama({ host: f.url });
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello there' },
    ];
    const res = await client.chat({ model: 'llama3.1:8b', messages, stream: false });
    expect(res.message).toEqual({ role: 'assistant', content: 'echo:hello there' });
    expect(res.done).toBe(true);
    expect(res.eval_count).toBe(3);
    expect(res.prompt_eval_count).toBe(Math.ceil((9 + 11) / 4));
    expect(f.requests[0]?.evalCount).toBe(3);
  });

  it('truncates at options.num_predict with done_reason "length" (generate)', async () => {
    const f = await fake({ tokens: 6 });
    const client = new Ollama({ host: f.url });
    const res = await client.generate({ model: 'llama3.1:8b', prompt: 'count', options: { num_predict: 2 } });
    expect(res.response).toBe('tok1 tok2');
    expect(res.done_reason).toBe('length');
    expect(res.eval_count).toBe(2);
    expect(res.prompt_eval_count).toBe(2);
  });

  it('returns deterministic unit-length embeddings', async () => {
    const f = await fake({ embeddingDims: 16 });
    const client = new Ollama({ host: f.url });
    const a = await client.embed({ model: 'nomic-embed-text', input: ['alpha', 'beta'] });
    const b = await client.embed({ model: 'nomic-embed-text', input: 'alpha' });
    expect(a.embeddings).toHaveLength(2);
    expect(a.embeddings[0]).toHaveLength(16);
    expect(b.embeddings[0]).toEqual(a.embeddings[0]);
    expect(a.embeddings[1]).not.toEqual(a.embeddings[0]);
    const norm = Math.hypot(...(a.embeddings[0] ?? []));
    expect(norm).toBeCloseTo(1, 5);
    expect(a.prompt_eval_count).toBe(2 + 1); // 'alpha' → 2, 'beta' → 1
    expect(a.model).toBe('nomic-embed-text');
  });

  it('surfaces an unknown model as ResponseError 404 with Ollama’s message', async () => {
    const f = await fake();
    const client = new Ollama({ host: f.url });
    const err = await client.chat({ model: 'nope:1b', messages: question }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'ResponseError',
      status_code: 404,
      error: 'model "nope:1b" not found, try pulling it first',
    } satisfies ResponseErrorLike);
    expect(f.requests[0]?.error).toContain('not found');
  });

  it('lists, shows and reports models like Ollama', async () => {
    const f = await fake();
    const client = new Ollama({ host: f.url });
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toEqual(['llama3.1:8b', 'nomic-embed-text:latest']);
    expect(tags.models[0]?.details.parameter_size).toBe('8.0B');
    expect(tags.models[0]?.digest).toMatch(/^[0-9a-f]{64}$/);
    const shown = await client.show({ model: 'llama3.1:8b' });
    expect(shown.details.family).toBe('llama');
    const version = await (await fetch(`${f.url}/api/version`)).json();
    expect(version).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    await client.generate({ model: 'llama3.1:8b', prompt: 'hi' });
    const ps = await client.ps();
    expect(ps.models.map((m) => m.name)).toEqual(['llama3.1:8b']);
  });

  it('speaks the exact NDJSON wire format', async () => {
    const f = await fake({ tokens: 2 });
    const res = await fetch(`${f.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.1:8b', messages: question }),
    });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const first = JSON.parse(lines[0] ?? '') as { message: unknown };
    expect(Object.keys(first)).toEqual(['model', 'created_at', 'message', 'done']);
    expect(first.message).toEqual({ role: 'assistant', content: 'tok1' });
    expect(Object.keys(JSON.parse(lines[2] ?? '') as object)).toEqual([
      'model',
      'created_at',
      'message',
      'done_reason',
      'done',
      'total_duration',
      'load_duration',
      'prompt_eval_count',
      'prompt_eval_duration',
      'eval_count',
      'eval_duration',
    ]);
  });

  it('rejects malformed JSON and a missing model with 400', async () => {
    const f = await fake();
    const bad = await fetch(`${f.url}/api/chat`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(typeof ((await bad.json()) as { error?: unknown }).error).toBe('string');
    const missing = await fetch(`${f.url}/api/chat`, { method: 'POST', body: JSON.stringify({ messages: question }) });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: 'model is required' });
  });
});

describe('fake Ollama fault injection', () => {
  it('failNext answers the next requests with the given status, then recovers', async () => {
    const f = await fake();
    const client = new Ollama({ host: f.url });
    f.failNext(2, { status: 503, error: 'server busy' });
    for (let i = 0; i < 2; i++) {
      const err = await client.chat({ model: 'llama3.1:8b', messages: question }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'ResponseError', status_code: 503, error: 'server busy' });
    }
    const ok = await client.chat({ model: 'llama3.1:8b', messages: question });
    expect(ok.done).toBe(true);
    expect(f.requests.map((r) => r.error)).toEqual(['server busy', 'server busy', undefined]);
  });

  it('midStreamErrorNext writes N chunks then an in-band error line', async () => {
    const f = await fake();
    const client = new Ollama({ host: f.url });
    f.midStreamErrorNext(2, 'model runner crashed');
    const seen: string[] = [];
    const err = await (async () => {
      for await (const part of await client.chat({ model: 'llama3.1:8b', messages: question, stream: true })) {
        seen.push(part.message.content);
      }
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['tok1', ' tok2']);
    expect((err as Error).message).toBe('model runner crashed');
    expect(f.requests[0]).toMatchObject({ evalCount: 2, finished: false, error: 'model runner crashed' });
  });

  it('records a client abort mid-stream with the chunks actually written', async () => {
    const f = await fake({ tokens: 50, chunkDelayMs: 20 });
    const client = new Ollama({ host: f.url });
    const stream = await client.chat({ model: 'llama3.1:8b', messages: question, stream: true });
    let n = 0;
    const ended = await (async () => {
      for await (const _ of stream) {
        if (++n === 3) stream.abort();
      }
    })().catch((e: unknown) => e);
    expect((ended as Error).name).toBe('AbortError');
    const rec = f.requests[0];
    await waitFor(() => rec?.aborted === true);
    const written = rec?.evalCount ?? 0;
    expect(written).toBeGreaterThanOrEqual(3);
    expect(written).toBeLessThan(50);
    expect(rec?.finished).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(rec?.evalCount).toBe(written); // stopped writing
  });

  it('delays the first byte by firstChunkDelayMs', async () => {
    const f = await fake({ firstChunkDelayMs: 150 });
    const t0 = Date.now();
    const res = await fetch(`${f.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.1:8b', messages: question }),
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
    await res.text();
  });

  it('setDown makes the backend unreachable until it comes back', async () => {
    const f = await fake();
    const client = new Ollama({ host: f.url });
    f.setDown(true);
    await expect(client.list()).rejects.toThrow();
    f.setDown(false);
    expect((await client.list()).models.length).toBe(2);
  });
});
