import { Hono } from 'hono';
import { modelAllowed } from '../../core/tenancy/plans.js';
import { assertModelAllowed } from '../caller.js';
import type { ProxyEnv } from '../context.js';
import {
  encodingFormatOf,
  fromOllamaChat,
  fromOllamaEmbed,
  modelList,
  modelObject,
  ndjsonToSse,
  newCompletionId,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
  toOllamaChat,
  toOllamaEmbed,
} from '../openai/index.js';
import type { OllamaChatResponse, OllamaEmbedResponse } from '../openai/wire.js';
import { forward, type PipelineDeps } from '../pipeline/forward.js';
import type { BackendDirectory } from './ollama.js';
import { DEFAULT_MAX_COMPLETION, estimateTokens, readJson, specBase } from './request.js';

/**
 * The OpenAI-compatible API, translated to Ollama's native API so that one meter counts
 * both: `/v1/chat/completions` (stream and not, tools), `/v1/embeddings`, `/v1/models`.
 */
export function openAiRoutes(deps: PipelineDeps, backends: BackendDirectory): Hono<ProxyEnv> {
  const app = new Hono<ProxyEnv>();

  app.post('/v1/chat/completions', async (c) => {
    const req = parseChatCompletionRequest(await readJson(c.req.raw));
    assertModelAllowed(c.get('caller'), req.model);
    const { body, stream, includeUsage } = toOllamaChat(req);
    const numPredict = body.options?.num_predict;
    const base = specBase(c, '/v1/chat/completions');
    const out = await forward(deps, {
      ...base,
      backendPath: '/api/chat',
      model: req.model,
      body: body as unknown as Record<string, unknown>,
      stream,
      promptEstimate: estimateTokens(body.messages.map((m) => m.content ?? '').join('\n')),
      maxCompletion: typeof numPredict === 'number' && numPredict > 0 ? numPredict : DEFAULT_MAX_COMPLETION,
    });
    const ctx = { id: newCompletionId(), created: Math.floor(Date.now() / 1000), model: req.model };
    if (out.kind === 'json') return c.json(fromOllamaChat(out.json as unknown as OllamaChatResponse, ctx));
    return new Response(out.stream.pipeThrough(ndjsonToSse({ ...ctx, includeUsage })), {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': base.requestId },
    });
  });

  app.post('/v1/embeddings', async (c) => {
    const req = parseEmbeddingsRequest(await readJson(c.req.raw));
    assertModelAllowed(c.get('caller'), req.model);
    const body = toOllamaEmbed(req);
    const input = Array.isArray(body.input) ? body.input.join('\n') : body.input;
    const out = await forward(deps, {
      ...specBase(c, '/v1/embeddings'),
      backendPath: '/api/embed',
      model: req.model,
      body: body as unknown as Record<string, unknown>,
      stream: false,
      promptEstimate: estimateTokens(input),
      maxCompletion: 0,
    });
    const json =
      out.kind === 'json' ? (out.json as unknown as OllamaEmbedResponse) : { model: req.model, embeddings: [] };
    return c.json(fromOllamaEmbed(json, { model: req.model, encodingFormat: encodingFormatOf(req) }));
  });

  /** The models the caller may use that a backend has (or the plan's list when none answers). */
  const visible = async (caller: ProxyEnv['Variables']['caller']): Promise<string[]> => {
    const backend = backends.pick();
    let names: string[] = caller.limits.allowedModels.filter((m) => m !== '*');
    if (backend) {
      const res = await fetch(`${backend.url}/api/tags`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      if (res?.ok) names = ((await res.json()) as { models: { name: string }[] }).models.map((m) => m.name);
    }
    return names.filter(
      (n) => modelAllowed(caller.limits.allowedModels, n) && (!caller.keyModels || modelAllowed(caller.keyModels, n)),
    );
  };
  const created = Math.floor(Date.now() / 1000);

  app.get('/v1/models', async (c) => c.json(modelList(await visible(c.get('caller')), created)));
  app.get('/v1/models/:id{.+}', async (c) => {
    const id = c.req.param('id');
    assertModelAllowed(c.get('caller'), id);
    return c.json(modelObject(id, created));
  });
  return app;
}
