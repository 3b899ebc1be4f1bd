/**
 * The translations driven end to end by the real `openai` SDK. A minimal Hono app, built
 * here only (the proxy's own routes add auth, metering and scheduling around the same
 * calls), wires /v1/* → translation → Ollama's native API → translation back.
 *
 * Backends: the shared fake Ollama for chat, streaming, errors and embeddings; it never
 * answers with tool calls, so tool calls come from a small scripted native `/api/chat`
 * below, written to docs/api.md's "Chat request (with tools)" shape.
 */
import { Hono } from 'hono';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Listening, listen } from '../../../core/http/serve.js';
import { OllamaBackend } from '../../../model-proxy/backends/ollama/client.js';
import {
  encodingFormatOf,
  fromOllamaChat,
  fromOllamaEmbed,
  modelList,
  modelObject,
  newCompletionId,
  type OllamaChatRequest,
  type OllamaChatResponse,
  type OllamaEmbedResponse,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
  toOllamaChat,
  toOllamaEmbed,
  toOpenAiError,
} from '../../../model-proxy/openai/index.js';
import { type FakeOllama, startFakeOllama } from '../../fakes/ollama.js';
import { embedText } from '../../fakes/ollama-shared.js';
import { ndjsonToSse } from './sse-stream.js';

/** Request bodies the /v1 app received, newest last. */
const v1Bodies: unknown[] = [];

/** The /v1 app under test, in front of one Ollama backend. */
function openAiApp(backendUrl: string): Hono {
  const backend = new OllamaBackend(backendUrl);
  const app = new Hono();
  app.post('/v1/chat/completions', async (c) => {
    const raw: unknown = await c.req.json();
    v1Bodies.push(raw);
    const req = parseChatCompletionRequest(raw);
    const { body, stream, includeUsage } = toOllamaChat(req);
    const res = await backend.post('/api/chat', body, c.req.raw.signal);
    const ctx = { id: newCompletionId(), created: Math.floor(Date.now() / 1000), model: req.model };
    if (!stream) return c.json(fromOllamaChat((await res.json()) as OllamaChatResponse, ctx));
    const sse = (res.body as ReadableStream<Uint8Array>).pipeThrough(ndjsonToSse({ ...ctx, includeUsage }));
    return new Response(sse, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
  });
  app.post('/v1/embeddings', async (c) => {
    const raw: unknown = await c.req.json();
    v1Bodies.push(raw);
    const req = parseEmbeddingsRequest(raw);
    const res = await backend.post('/api/embed', toOllamaEmbed(req), c.req.raw.signal);
    const out = fromOllamaEmbed((await res.json()) as OllamaEmbedResponse, {
      model: req.model,
      encodingFormat: encodingFormatOf(req),
    });
    return c.json(out);
  });
  app.get('/v1/models', (c) => c.json(modelList(['llama3.1:8b', 'nomic-embed-text'], 1_700_000_000)));
  app.get('/v1/models/:id', (c) => c.json(modelObject(c.req.param('id'), 1_700_000_000)));
  app.onError((err, c) => {
    const out = toOpenAiError(err);
    return c.json(out.body, out.status as 400);
  });
  return app;
}

/** A native /api/chat that calls get_weather until it gets a tool result, then answers. */
function toolBackend(seen: OllamaChatRequest[]): Hono {
  const app = new Hono();
  app.post('/api/chat', async (c) => {
    const req = (await c.req.json()) as OllamaChatRequest;
    seen.push(req);
    const last = req.messages.at(-1);
    const message =
      last?.role === 'tool'
        ? { role: 'assistant', content: `It is ${last.content} in Paris.` }
        : {
            role: 'assistant',
            content: '',
            tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } }],
          };
    const stats = { done: true, done_reason: 'stop', prompt_eval_count: 122, eval_count: 33 };
    const base = { model: req.model, created_at: new Date().toISOString() };
    if (!req.stream) return c.json({ ...base, message, ...stats });
    const lines = [
      { ...base, message, done: false },
      { ...base, message: { role: 'assistant', content: '' }, ...stats },
    ];
    return c.body(lines.map((l) => `${JSON.stringify(l)}\n`).join(''), 200, { 'content-type': 'application/x-ndjson' });
  });
  return app;
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

let fake: FakeOllama;
let viaFake: Listening;
let toolOllama: Listening;
let viaTools: Listening;
let client: OpenAI;
let toolClient: OpenAI;
const toolRequests: OllamaChatRequest[] = [];
const lastNative = () => fake.requests.at(-1)!;

beforeAll(async () => {
  fake = await startFakeOllama({ tokens: 5 });
  viaFake = await listen('openai-test', openAiApp(fake.url).fetch, 0);
  toolOllama = await listen('tool-ollama', toolBackend(toolRequests).fetch, 0);
  viaTools = await listen('openai-tools', openAiApp(`http://127.0.0.1:${toolOllama.port}`).fetch, 0);
  client = new OpenAI({ baseURL: `http://127.0.0.1:${viaFake.port}/v1`, apiKey: 'x', maxRetries: 0 });
  toolClient = new OpenAI({ baseURL: `http://127.0.0.1:${viaTools.port}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([viaFake?.close(), viaTools?.close(), toolOllama?.close()]);
  await fake?.close();
});

beforeEach(() => {
  fake.configure({ tokens: 5, reply: undefined });
});

describe('chat completions through the openai SDK', () => {
  it('answers a non-streamed chat with usage equal to the backend’s counts', async () => {
    fake.configure({ reply: () => 'S355 plate comes in 10 mm.' });
    const res = await client.chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'How thick is S355 plate?' }],
    });
    const seen = lastNative();
    expect(seen.path).toBe('/api/chat');
    expect(seen.body).toMatchObject({ model: 'llama3.1:8b', stream: false });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'S355 plate comes in 10 mm.' });
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage).toEqual({
      prompt_tokens: seen.promptEvalCount,
      completion_tokens: seen.evalCount,
      total_tokens: seen.promptEvalCount + seen.evalCount,
    });
    expect(seen.evalCount).toBe(5);
  });

  it('streams with stream_options.include_usage: content equals the reply and a usage chunk arrives last', async () => {
    fake.configure({ reply: () => 'Grüße aus der Werkstatt.', tokens: 6 });
    const stream = await client.chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const seen = lastNative();
    expect(v1Bodies.at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(seen.body).toMatchObject({ stream: true });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Grüße aus der Werkstatt.');
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({
      prompt_tokens: seen.promptEvalCount,
      completion_tokens: 6,
      total_tokens: seen.promptEvalCount + 6,
    });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams without a usage chunk when the client did not ask for one', async () => {
    const stream = await client.chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('tok1 tok2 tok3 tok4 tok5');
  });

  it('maps max_tokens to num_predict and reports finish_reason length', async () => {
    const res = await client.chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Tell me everything' }],
      max_tokens: 2,
      temperature: 0,
    });
    expect(lastNative().body).toMatchObject({ options: { num_predict: 2, temperature: 0 } });
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage?.completion_tokens).toBe(2);
  });

  it('raises APIError from the SDK when Ollama fails mid-stream, after the content already sent', async () => {
    fake.midStreamErrorNext(2, 'CUDA error: out of memory');
    const stream = await client.chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const failure = await (async () => {
      try {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).message).toContain('CUDA error: out of memory');
    expect(text).toBe('tok1 tok2');
  });

  it('answers errors in OpenAI’s shape, raised as the SDK’s error classes', async () => {
    const notFound = await client.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect(notFound).toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
      type: 'invalid_request_error',
    });

    const bad = await client.chat.completions.create({ model: 'llama3.1:8b', messages: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ status: 400, param: 'messages', type: 'invalid_request_error' });
  });
});

describe('tool calls through the openai SDK', () => {
  beforeEach(() => {
    toolRequests.length = 0;
  });

  it('non-streamed: tools reach Ollama, the answer has tool_calls with JSON-string arguments', async () => {
    const res = await toolClient.chat.completions.create({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
    });
    expect(toolRequests[0]?.tools).toEqual([weatherTool]);
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(call?.id).toMatch(/^call_/);
    expect(JSON.parse((call as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function.arguments)).toEqual({
      city: 'Paris',
      unit: 'celsius',
    });
  });

  it('streamed: the SDK’s stream helper assembles the tool call, then the tool result round-trips', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const runner = toolClient.chat.completions.stream({
      model: 'llama3.1:8b',
      messages,
      tools: [weatherTool],
      stream_options: { include_usage: true },
    });
    const first = await runner.finalChatCompletion();
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' });
    expect(first.usage).toMatchObject({ prompt_tokens: 122, completion_tokens: 33 });

    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '21°C' });
    const second = await toolClient.chat.completions.create({ model: 'llama3.1:8b', messages, tools: [weatherTool] });
    expect(second.choices[0]?.message.content).toBe('It is 21°C in Paris.');
    expect(second.choices[0]?.finish_reason).toBe('stop');
    // What Ollama received: arguments as an object, the tool result named after its call.
    expect(toolRequests[1]?.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: call.id, function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } }],
      },
      { role: 'tool', content: '21°C', tool_call_id: call.id, tool_name: 'get_weather' },
    ]);
  });
});

describe('embeddings and models through the openai SDK', () => {
  it('decodes the default base64 answer to exactly the fake’s vectors, usage from prompt_eval_count', async () => {
    const res = await client.embeddings.create({ model: 'nomic-embed-text', input: ['steel', 'Grüße'] });
    expect(v1Bodies.at(-1)).toMatchObject({ encoding_format: 'base64' });
    const seen = lastNative();
    expect(seen.path).toBe('/api/embed');
    expect(seen.body).toEqual({ model: 'nomic-embed-text', input: ['steel', 'Grüße'] });
    expect(res.data.map((d) => d.embedding)).toEqual([embedText('steel', 8), embedText('Grüße', 8)]);
    expect(res.usage).toEqual({ prompt_tokens: seen.promptEvalCount, total_tokens: seen.promptEvalCount });
  });

  it('answers floats when the client asks for encoding_format float, and passes dimensions', async () => {
    const res = await client.embeddings.create({
      model: 'nomic-embed-text',
      input: 'steel',
      encoding_format: 'float',
      dimensions: 4,
    });
    expect(lastNative().body).toEqual({ model: 'nomic-embed-text', input: 'steel', dimensions: 4 });
    expect(res.data[0]?.embedding).toEqual(embedText('steel', 4));
  });

  it('lists and retrieves models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['llama3.1:8b', 'nomic-embed-text']);
    expect(await client.models.retrieve('llama3.1:8b')).toMatchObject({ id: 'llama3.1:8b', object: 'model' });
  });
});
