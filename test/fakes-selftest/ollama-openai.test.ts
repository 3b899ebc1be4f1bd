import { Ollama } from 'ollama';
import OpenAI from 'openai';
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

describe('fake Ollama, OpenAI-compatible API through the openai client', () => {
  const openai = (f: FakeOllama) => new OpenAI({ baseURL: `${f.url}/v1`, apiKey: 'x', maxRetries: 0 });

  it('answers a chat completion with usage', async () => {
    const f = await fake({ tokens: 4 });
    const res = await openai(f).chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
    });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]?.message.content).toBe('tok1 tok2 tok3 tok4');
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  });

  it('streams SSE chunks with a usage-only chunk when include_usage is set', async () => {
    const f = await fake({ tokens: 3 });
    const stream = await openai(f).chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks).toHaveLength(5);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('tok1 tok2 tok3');
    expect(chunks[3]?.choices[0]?.finish_reason).toBe('stop');
    const usageChunk = chunks[4];
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(f.requests[0]).toMatchObject({ path: '/v1/chat/completions', evalCount: 3, finished: true });
  });

  it('returns the same vectors as /api/embed, base64-decoded by the client', async () => {
    const f = await fake();
    const res = await openai(f).embeddings.create({ model: 'nomic-embed-text', input: ['alpha'] });
    const native = await new Ollama({ host: f.url }).embed({ model: 'nomic-embed-text', input: 'alpha' });
    expect(res.data[0]?.embedding).toEqual(native.embeddings[0]);
    expect(res.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('reports errors in OpenAI shape', async () => {
    const f = await fake();
    const err = await openai(f)
      .chat.completions.create({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toEqual({
      message: 'model "ghost" not found, try pulling it first',
      type: 'not_found_error',
      param: null,
      code: null,
    });
  });

  it('surfaces a mid-stream error as an APIError from the stream', async () => {
    const f = await fake();
    f.midStreamErrorNext(1, 'boom');
    const stream = await openai(f).chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(got).toEqual(['tok1']);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toContain('boom');
  });

  it('lists models', async () => {
    const f = await fake({ models: ['qwen2.5:7b'] });
    const ids = [];
    for await (const m of openai(f).models.list()) ids.push(m.id);
    expect(ids).toEqual(['qwen2.5:7b']);
  });
});
