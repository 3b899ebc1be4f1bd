/**
 * A minimal fake Ollama for `npm run bench:proxy`: only what the three measured paths
 * call (`/api/chat`, `/v1/chat/completions`, and `/api/tags` and `/api/version` for the
 * proxy's health checks), answers rendered once per configuration, no request records.
 * test/fakes/ollama.ts is faithful to Ollama's edge cases and remembers every request;
 * this one is built to cost as little CPU as possible per request and per chunk, so the
 * backend stays out of what is measured. It speaks the same NDJSON and SSE.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake answers a generation. */
export interface FastOllamaOptions {
  /** Content chunks (completion tokens) per answer. */
  tokens: number;
  /** Delay between streamed chunks; a non-streamed answer waits for all of them. */
  chunkDelayMs: number;
}

/** A running fast fake. */
export interface FastOllama {
  url: string;
  server: Server;
  /** Changes how generations that start from now on are answered. */
  configure(opts: Partial<FastOllamaOptions>): void;
  close(): Promise<void>;
}

const MODELS = ['llama3.1:8b', 'nomic-embed-text:latest'];
const PROMPT_TOKENS = 12;

/** The answers of one configuration, rendered once. */
interface Rendered {
  opts: FastOllamaOptions;
  pieces: string[];
  /** Non-streamed `/api/chat` body, without `model` (spliced in per request). */
  chatWhole: (model: string) => string;
  chatChunk: (model: string, piece: string) => string;
  chatFinal: (model: string) => string;
  openAiWhole: (model: string) => string;
  openAiChunk: (model: string, piece: string) => string;
  openAiFinal: (model: string, includeUsage: boolean) => string;
}

function render(opts: FastOllamaOptions): Rendered {
  const pieces = Array.from({ length: opts.tokens }, (_, i) => (i === 0 ? 'tok1' : ` tok${i + 1}`));
  const created = new Date().toISOString();
  const stats = `"total_duration":${opts.tokens * 1_000_000},"load_duration":1000000,"prompt_eval_count":${PROMPT_TOKENS},"prompt_eval_duration":1000000,"eval_count":${opts.tokens},"eval_duration":${opts.tokens * 1_000_000}`;
  const usage = `{"prompt_tokens":${PROMPT_TOKENS},"completion_tokens":${opts.tokens},"total_tokens":${PROMPT_TOKENS + opts.tokens}}`;
  const epoch = Math.floor(Date.now() / 1000);
  const head = (model: string) =>
    `"id":"chatcmpl-1","object":"chat.completion.chunk","created":${epoch},"model":${JSON.stringify(model)},"system_fingerprint":"fp_ollama"`;
  const content = JSON.stringify(pieces.join(''));
  return {
    opts,
    pieces,
    chatWhole: (model) =>
      `{"model":${JSON.stringify(model)},"created_at":"${created}","message":{"role":"assistant","content":${content}},"done_reason":"stop","done":true,${stats}}`,
    chatChunk: (model, piece) =>
      `{"model":${JSON.stringify(model)},"created_at":"${created}","message":{"role":"assistant","content":${JSON.stringify(piece)}},"done":false}\n`,
    chatFinal: (model) =>
      `{"model":${JSON.stringify(model)},"created_at":"${created}","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,${stats}}\n`,
    openAiWhole: (model) =>
      `{"id":"chatcmpl-1","object":"chat.completion","created":${epoch},"model":${JSON.stringify(model)},"system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":${content}},"finish_reason":"stop"}],"usage":${usage}}`,
    openAiChunk: (model, piece) =>
      `data: {${head(model)},"choices":[{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(piece)}},"finish_reason":null}]}\n\n`,
    openAiFinal: (model, includeUsage) =>
      `data: {${head(model)},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}\n\n${
        includeUsage ? `data: {${head(model)},"choices":[],"usage":${usage}}\n\n` : ''
      }data: [DONE]\n\n`,
  };
}

/** What the fake reads of a generation request. */
interface Ask {
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

function parseAsk(raw: string, streamByDefault: boolean): Ask | undefined {
  try {
    const body = JSON.parse(raw) as { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
    if (typeof body.model !== 'string' || body.model === '') return undefined;
    return {
      model: body.model,
      stream: typeof body.stream === 'boolean' ? body.stream : streamByDefault,
      includeUsage: body.stream_options?.include_usage === true,
    };
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Writes `first`, then each of `rest` `delayMs` apart, then `last`; stops when the client leaves. */
function stream(res: ServerResponse, contentType: string, chunks: string[], delayMs: number): void {
  res.writeHead(200, { 'content-type': contentType });
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  res.once('close', () => clearTimeout(timer));
  const next = () => {
    if (res.destroyed) return;
    const chunk = chunks[i++] as string;
    if (i === chunks.length) res.end(chunk);
    else {
      res.write(chunk);
      timer = setTimeout(next, delayMs);
    }
  };
  next();
}

function generate(req: IncomingMessage, res: ServerResponse, raw: string, r: Rendered): void {
  const openAi = req.url === '/v1/chat/completions';
  const ask = parseAsk(raw, !openAi);
  if (!ask) {
    send(res, 400, 'application/json', '{"error":"model is required"}');
    return;
  }
  const { model } = ask;
  if (!ask.stream) {
    const body = openAi ? r.openAiWhole(model) : r.chatWhole(model);
    const wait = r.opts.chunkDelayMs * Math.max(0, r.pieces.length - 1);
    if (wait <= 0) {
      send(res, 200, 'application/json; charset=utf-8', body);
      return;
    }
    const timer = setTimeout(() => send(res, 200, 'application/json; charset=utf-8', body), wait);
    res.once('close', () => clearTimeout(timer));
    return;
  }
  const chunks = openAi
    ? [...r.pieces.map((p) => r.openAiChunk(model, p)), r.openAiFinal(model, ask.includeUsage)]
    : [...r.pieces.map((p) => r.chatChunk(model, p)), r.chatFinal(model)];
  stream(res, openAi ? 'text/event-stream' : 'application/x-ndjson', chunks, r.opts.chunkDelayMs);
}

const TAGS = JSON.stringify({
  models: MODELS.map((name) => ({
    name,
    model: name,
    modified_at: new Date().toISOString(),
    size: 4_920_753_328,
    digest: '0'.repeat(64),
    details: { format: 'gguf', family: 'llama', parameter_size: '8.0B', quantization_level: 'Q4_K_M' },
  })),
});

/** Starts the fast fake on 127.0.0.1 (port 0: any free port). */
export async function startFastOllama(opts: FastOllamaOptions, port = 0): Promise<FastOllama> {
  let rendered = render(opts);
  const server = createServer((req, res) => {
    res.on('error', () => {});
    if (req.method === 'GET') {
      req.resume();
      if (req.url === '/api/tags') return send(res, 200, 'application/json; charset=utf-8', TAGS);
      if (req.url === '/api/version') return send(res, 200, 'application/json; charset=utf-8', '{"version":"0.12.10"}');
      return send(res, 404, 'text/plain', '404 page not found');
    }
    if (req.url !== '/api/chat' && req.url !== '/v1/chat/completions') {
      req.resume();
      return send(res, 404, 'text/plain', '404 page not found');
    }
    const chunks: Buffer[] = [];
    const r = rendered;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => generate(req, res, Buffer.concat(chunks).toString('utf8'), r));
  });
  // Long keep-alive: the load generator and the proxies reuse their connections across phases.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    configure(patch) {
      rendered = render({ ...rendered.opts, ...patch });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
