import { Hono } from 'hono';
import { z } from 'zod';
import { modelAllowed } from '../../core/tenancy/plans.js';
import { assertModelAllowed, type Caller } from '../caller.js';
import type { ProxyEnv } from '../context.js';
import { forward, type PipelineDeps } from '../pipeline/forward.js';
import type { ForwardSpec } from '../pipeline/types.js';
import {
  DEFAULT_MAX_COMPLETION,
  estimateTokens,
  type MeteredRequest,
  type MeteredRoute,
  parseJsonBody,
  sendJsonText,
  specBase,
  validate,
} from './request.js';

const options = z.looseObject({ num_predict: z.number().int().optional() }).optional();

/** Ollama's `/api/chat` request; fields Anvil does not read are forwarded as they are. */
export const chatSchema = z.looseObject({
  model: z.string().min(1, 'model is required'),
  messages: z
    .array(z.looseObject({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string().default('') }))
    .default([]),
  stream: z.boolean().default(true),
  options,
});

/** Ollama's `/api/generate` request. */
export const generateSchema = z.looseObject({
  model: z.string().min(1, 'model is required'),
  prompt: z.string().default(''),
  system: z.string().optional(),
  stream: z.boolean().default(true),
  options,
});

/** Ollama's `/api/embed` request. */
export const embedSchema = z.looseObject({
  model: z.string().min(1, 'model is required'),
  input: z.union([z.string(), z.array(z.string())]),
});

/** Reads a backend's GET endpoint for the metadata routes. */
export interface BackendDirectory {
  /** A healthy backend (one that has the model, when named). */
  pick(model?: string): { url: string; name: string } | undefined;
}

/** The most completion tokens a request may produce: its own num_predict, else the default. */
function maxCompletion(opts: { num_predict?: number | undefined } | undefined): number {
  const n = opts?.num_predict;
  return n !== undefined && n > 0 ? n : DEFAULT_MAX_COMPLETION;
}

/** Answers a forwarded request in Ollama's shape: the JSON body or the NDJSON stream. */
async function answer(deps: PipelineDeps, req: MeteredRequest, spec: ForwardSpec): Promise<void> {
  const out = await forward(deps, spec);
  if (out.kind === 'json') return sendJsonText(req.out, 200, out.text, { 'x-request-id': spec.requestId });
  req.out.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-request-id': spec.requestId });
  out.relay(req.out);
}

/** A metered generation route (chat, generate): one pipeline, its own schema and prompt. */
function generation<B extends z.infer<typeof chatSchema> | z.infer<typeof generateSchema>>(
  deps: PipelineDeps,
  path: '/api/chat' | '/api/generate',
  schema: z.ZodType<B>,
  promptOf: (body: B) => string,
): MeteredRoute {
  return {
    api: 'ollama',
    async handle(req) {
      const body = validate(schema, req.body);
      assertModelAllowed(req.caller, body.model);
      await answer(deps, req, {
        ...specBase(req, path),
        backendPath: path,
        model: body.model,
        payload: req.text,
        stream: body.stream,
        promptEstimate: estimateTokens(promptOf(body)),
        maxCompletion: maxCompletion(body.options),
      });
    },
  };
}

/** The metered routes of the Ollama-compatible API: `/api/chat`, `/api/generate`, `/api/embed`. */
export function ollamaMeteredRoutes(deps: PipelineDeps): Record<string, MeteredRoute> {
  return {
    '/api/chat': generation(deps, '/api/chat', chatSchema, (b) => b.messages.map((m) => m.content).join('\n')),
    '/api/generate': generation(deps, '/api/generate', generateSchema, (b) => `${b.system ?? ''}\n${b.prompt}`),
    '/api/embed': {
      api: 'ollama',
      async handle(req) {
        const body = validate(embedSchema, req.body);
        assertModelAllowed(req.caller, body.model);
        const input = Array.isArray(body.input) ? body.input.join('\n') : body.input;
        await answer(deps, req, {
          ...specBase(req, '/api/embed'),
          backendPath: '/api/embed',
          model: body.model,
          payload: req.text,
          stream: false,
          promptEstimate: estimateTokens(input),
          maxCompletion: 0,
        });
      },
    },
  };
}

/**
 * The rest of the Ollama-compatible API, which reads a backend: `/api/tags`, `/api/show`,
 * `/api/ps` and `/api/version`, showing only the models the caller may use.
 */
export function ollamaRoutes(backends: BackendDirectory): Hono<ProxyEnv> {
  const app = new Hono<ProxyEnv>();

  app.get('/api/tags', async (c) => {
    const tags = (await readBackend<{ models: { name: string; model?: string }[] }>(backends, '/api/tags')) ?? {
      models: [],
    };
    return c.json({ models: visibleModels(c.get('caller'), tags.models) });
  });

  app.get('/api/ps', async (c) => {
    const ps = (await readBackend<{ models: { name: string; model?: string }[] }>(backends, '/api/ps')) ?? {
      models: [],
    };
    return c.json({ models: visibleModels(c.get('caller'), ps.models) });
  });

  app.get('/api/version', async (c) => {
    const version = await readBackend<{ version: string }>(backends, '/api/version');
    return c.json(version ?? { version: 'unknown' });
  });

  app.post('/api/show', async (c) => {
    const body = validate(
      z.looseObject({ model: z.string().min(1, 'model is required') }),
      parseJsonBody(await c.req.text()),
    );
    assertModelAllowed(c.get('caller'), body.model);
    const backend = backends.pick(body.model);
    if (!backend) return c.json({ error: `model "${body.model}" is not available on any backend` }, 404);
    const res = await fetch(`${backend.url}/api/show`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return new Response(res.body, { status: res.status, headers: { 'content-type': 'application/json' } });
  });

  return app;
}

/** Only the models the caller's plan (and key) allow. */
function visibleModels<M extends { name: string; model?: string }>(caller: Caller, models: M[]): M[] {
  return models.filter(
    (m) =>
      modelAllowed(caller.limits.allowedModels, m.name) &&
      (!caller.keyModels || modelAllowed(caller.keyModels, m.name)),
  );
}

/** GETs a JSON document from a healthy backend; undefined when none answers. */
async function readBackend<T>(backends: BackendDirectory, path: string): Promise<T | undefined> {
  const backend = backends.pick();
  if (!backend) return undefined;
  try {
    const res = await fetch(`${backend.url}${path}`, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
