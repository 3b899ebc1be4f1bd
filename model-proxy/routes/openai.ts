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
  newCompletionId,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
  SseTranslator,
  toOllamaChat,
  toOllamaEmbed,
} from '../openai/index.js';
import type { OllamaChatResponse, OllamaEmbedResponse } from '../openai/wire.js';
import { forward, type PipelineDeps } from '../pipeline/forward.js';
import type { BackendDirectory } from './ollama.js';
import { DEFAULT_MAX_COMPLETION, estimateTokens, type MeteredRoute, sendJson, specBase } from './request.js';

/**
 * The metered routes of the OpenAI-compatible API, translated to Ollama's native API so
 * that one meter counts both: `/v1/chat/completions` (stream and not, tools) and
 * `/v1/embeddings`.
 */
export function openAiMeteredRoutes(deps: PipelineDeps): Record<string, MeteredRoute> {
  return {
    '/v1/chat/completions': {
      api: 'openai',
      async handle(r) {
        const req = parseChatCompletionRequest(r.body);
        assertModelAllowed(r.caller, req.model);
        const { body, stream, includeUsage } = toOllamaChat(req);
        const numPredict = body.options?.num_predict;
        const out = await forward(deps, {
          ...specBase(r, '/v1/chat/completions'),
          backendPath: '/api/chat',
          model: req.model,
          payload: JSON.stringify(body),
          stream,
          promptEstimate: estimateTokens(body.messages.map((m) => m.content ?? '').join('\n')),
          maxCompletion: typeof numPredict === 'number' && numPredict > 0 ? numPredict : DEFAULT_MAX_COMPLETION,
        });
        const ctx = { id: newCompletionId(), created: Math.floor(Date.now() / 1000), model: req.model };
        const headers = { 'x-request-id': r.requestId };
        if (out.kind === 'json')
          return sendJson(r.out, 200, fromOllamaChat(out.json as unknown as OllamaChatResponse, ctx), headers);
        r.out.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        out.relay(r.out, new SseTranslator({ ...ctx, includeUsage }));
      },
    },
    '/v1/embeddings': {
      api: 'openai',
      async handle(r) {
        const req = parseEmbeddingsRequest(r.body);
        assertModelAllowed(r.caller, req.model);
        const body = toOllamaEmbed(req);
        const input = Array.isArray(body.input) ? body.input.join('\n') : body.input;
        const out = await forward(deps, {
          ...specBase(r, '/v1/embeddings'),
          backendPath: '/api/embed',
          model: req.model,
          payload: JSON.stringify(body),
          stream: false,
          promptEstimate: estimateTokens(input),
          maxCompletion: 0,
        });
        const json =
          out.kind === 'json' ? (out.json as unknown as OllamaEmbedResponse) : { model: req.model, embeddings: [] };
        const list = fromOllamaEmbed(json, { model: req.model, encodingFormat: encodingFormatOf(req) });
        sendJson(r.out, 200, list, { 'x-request-id': r.requestId });
      },
    },
  };
}

/** `GET /v1/models` and `/v1/models/:id`: the models the caller may use. */
export function openAiRoutes(backends: BackendDirectory): Hono<ProxyEnv> {
  const app = new Hono<ProxyEnv>();

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
