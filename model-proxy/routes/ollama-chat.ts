import { Hono } from 'hono';
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { UsageLedger } from '../../core/usage/ledger.js';
import type { OllamaBackend } from '../backends/ollama/client.js';
import { assertModelAllowed } from '../caller.js';
import type { ProxyEnv } from '../context.js';
import { estimateTokens, NdjsonMeter } from '../metering/ndjson-meter.js';
import { type MeteredRequest, NO_TOKENS, recordUsage } from '../metering/recorder.js';

/** Ollama's `/api/chat` request; fields Anvil does not read are forwarded as they are. */
export const chatRequestSchema = z.looseObject({
  model: z.string().min(1, 'model is required'),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(['system', 'user', 'assistant', 'tool']),
        content: z.string().default(''),
      }),
    )
    .default([]),
  stream: z.boolean().optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Dependencies of the chat route. */
export interface ChatRouteDeps {
  backend: OllamaBackend;
  ledger: UsageLedger;
}

/** Reads a JSON body or answers 400 with what is wrong. */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`, 'invalid_json');
  }
}

/** Validates a body against a schema, answering 400 with every problem. */
export function validate<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/**
 * `POST /api/chat`, Ollama-native. Streams are passed through chunk by chunk while the
 * meter reads them; the ledger row is written once, when the answer ends, fails, or the
 * client goes away (then the backend request is aborted too).
 */
export function ollamaChatRoute(deps: ChatRouteDeps): Hono<ProxyEnv> {
  const app = new Hono<ProxyEnv>();
  app.post('/api/chat', async (c) => {
    const body = validate(chatRequestSchema, await readJson(c.req.raw));
    const caller = c.get('caller');
    assertModelAllowed(caller, body.model);
    const log = c.get('log');
    const req: MeteredRequest = {
      requestId: c.get('requestId'),
      caller,
      model: body.model,
      endpoint: '/api/chat',
      backend: deps.backend.name,
      startedAt: Date.now(),
    };
    const upstream = new AbortController();
    const clientGone = () => upstream.abort();
    c.req.raw.signal.addEventListener('abort', clientGone, { once: true });
    const meter = new NdjsonMeter(estimateTokens(body.messages.map((m) => m.content).join('\n')));

    let res: Response;
    try {
      res = await deps.backend.post('/api/chat', body, upstream.signal);
    } catch (err) {
      const aborted = upstream.signal.aborted;
      recordUsage(deps.ledger, log, req, aborted ? 'aborted' : 'error', NO_TOKENS, (err as Error).message);
      throw err;
    }

    if (body.stream === false) {
      const json = (await res.json()) as Record<string, unknown>;
      meter.whole(json);
      const r = meter.result();
      recordUsage(deps.ledger, log, req, r.error ? 'error' : 'ok', r, r.error);
      return c.json(json);
    }

    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let settled = false;
    const settle = (status: 'ok' | 'aborted' | 'error', error: string | null = null) => {
      if (settled) return;
      settled = true;
      c.req.raw.signal.removeEventListener('abort', clientGone);
      const r = meter.result();
      const final = r.error ? 'error' : status === 'ok' && !r.done ? 'error' : status;
      recordUsage(
        deps.ledger,
        log,
        req,
        final,
        r,
        r.error ?? error ?? (final === 'error' ? 'stream ended before the final chunk' : null),
      );
    };
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            settle('ok');
            controller.close();
            return;
          }
          meter.push(value);
          controller.enqueue(value);
        } catch (err) {
          if (upstream.signal.aborted) {
            settle('aborted');
            controller.close();
            return;
          }
          const message = `the model backend failed mid-answer: ${(err as Error).message}`;
          log.warn({ err, requestId: req.requestId }, 'backend stream failed');
          settle('error', message);
          controller.enqueue(new TextEncoder().encode(`${JSON.stringify({ error: message })}\n`));
          controller.close();
        }
      },
      cancel() {
        upstream.abort();
        settle('aborted');
      },
    });
    return new Response(stream, {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson', 'x-request-id': req.requestId },
    });
  });
  return app;
}
