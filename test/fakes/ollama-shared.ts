/**
 * Types and helpers shared by the fake Ollama's native (/api) and
 * OpenAI-compatible (/v1) handlers: options, request records, the model
 * catalogue, token counting, reply planning and deterministic embeddings.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Options of the fake Ollama (see startFakeOllama). */
export interface FakeOllamaOptions {
  /** Installed models; a name without a tag means `:latest`. Default ['llama3.1:8b', 'nomic-embed-text']. */
  models?: string[];
  /** Completion tokens (= content chunks) per answer, default 5. */
  tokens?: number;
  /** Delay between streamed chunks in ms, default 0. */
  chunkDelayMs?: number;
  /** Delay before the first byte of a generation response in ms, default 0. */
  firstChunkDelayMs?: number;
  /** Optional fixed reply; it is split into about `tokens` chunks. */
  reply?: (req: { model: string; messages: { role: string; content: string }[] }) => string;
  /** Length of the vectors /api/embed and /v1/embeddings return, default 8. */
  embeddingDims?: number;
}

/** What the fake saw and did for one HTTP request. */
export interface FakeOllamaRequestRecord {
  /** 1-based, in arrival order. */
  id: number;
  /** URL path without the query string. */
  path: string;
  /** Parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /** Request headers as node:http parsed them (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** Prompt tokens the fake reported (or would have reported). */
  promptEvalCount: number;
  /** Content chunks actually written. */
  evalCount: number;
  /** True once the final chunk (or whole non-streamed answer) was written. */
  finished: boolean;
  /** True when the client went away before the end of the response. */
  aborted: boolean;
  /** Error message the fake answered with, if any. */
  error?: string;
}

/** Options with every default filled in. */
export interface ResolvedOllamaOptions {
  models: string[];
  tokens: number;
  chunkDelayMs: number;
  firstChunkDelayMs: number;
  reply: FakeOllamaOptions['reply'];
  embeddingDims: number;
}

/** A fault queued by midStreamErrorNext. */
export interface MidStreamFault {
  afterChunks: number;
  error: string;
}

/** One request as the handlers see it. */
export interface OllamaExchange {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  record: FakeOllamaRequestRecord;
  rawBody: string;
  /** Options as they were when the request arrived. */
  opts: ResolvedOllamaOptions;
  /** process.hrtime.bigint() at arrival. */
  startedAt: bigint;
  /** Takes the queued mid-stream fault, if any (call only for streamed answers). */
  takeMidStreamFault(): MidStreamFault | undefined;
  /** Marks a model as loaded (for /api/ps); keepAlive 0 unloads it. */
  touchModel(name: string, keepAlive: unknown): void;
  /** Models currently loaded, with their expiry time (ms since epoch). */
  loaded: Map<string, number>;
}

/** A chat message reduced to what the fake needs. */
export interface PlainMessage {
  role: string;
  content: string;
}

/** What one generation will produce. */
export interface GenerationPlan {
  pieces: string[];
  doneReason: 'stop' | 'length';
  promptEvalCount: number;
}

/** Timing and count fields of a final Ollama response, in Ollama's field order. */
export interface FinalStats {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

/** Facts about an installed model, derived deterministically from its name. */
export interface FakeModelInfo {
  name: string;
  family: string;
  parameterSize: string;
  quantization: string;
  size: number;
  digest: string;
  embedding: boolean;
  modifiedAt: string;
}

/** The version string GET /api/version reports. */
export const FAKE_OLLAMA_VERSION = '0.12.10';

const STARTED_AT = new Date().toISOString();

/** Defaults filled into partial options. */
export function resolveOptions(
  base: ResolvedOllamaOptions | undefined,
  patch: Partial<FakeOllamaOptions>,
): ResolvedOllamaOptions {
  const b = base ?? {
    models: ['llama3.1:8b', 'nomic-embed-text'],
    tokens: 5,
    chunkDelayMs: 0,
    firstChunkDelayMs: 0,
    reply: undefined,
    embeddingDims: 8,
  };
  return {
    models: patch.models ?? b.models,
    tokens: Math.max(1, Math.floor(patch.tokens ?? b.tokens)),
    chunkDelayMs: patch.chunkDelayMs ?? b.chunkDelayMs,
    firstChunkDelayMs: patch.firstChunkDelayMs ?? b.firstChunkDelayMs,
    reply: 'reply' in patch ? patch.reply : b.reply,
    embeddingDims: Math.max(1, Math.floor(patch.embeddingDims ?? b.embeddingDims)),
  };
}

/** `llama3` → `llama3:latest`; names are compared case-insensitively, as Ollama does. */
export function canonicalModelName(name: string): string {
  const trimmed = name.trim();
  const last = trimmed.split('/').pop() ?? trimmed;
  return (last.includes(':') ? trimmed : `${trimmed}:latest`).toLowerCase();
}

/** Describes a model the way /api/tags and /api/show report it. */
export function describeModel(name: string): FakeModelInfo {
  const full = name.split('/').pop()?.includes(':') ? name : `${name}:latest`;
  const [base = name, tag = 'latest'] = (full.split('/').pop() ?? full).split(':');
  const embedding = /embed|bge|minilm/i.test(base);
  const sizeMatch = /(\d+(?:\.\d+)?)([bm])/i.exec(tag);
  let billions = embedding ? 0.137 : 7.2;
  if (sizeMatch?.[1] && sizeMatch[2]) {
    const n = Number(sizeMatch[1]);
    billions = sizeMatch[2].toLowerCase() === 'm' ? n / 1000 : n;
  }
  const parameterSize = billions < 1 ? `${Math.round(billions * 1000)}M` : `${billions.toFixed(1)}B`;
  const family = embedding ? 'nomic-bert' : (/^[a-z]+/i.exec(base)?.[0]?.toLowerCase() ?? 'llama');
  return {
    name: full,
    family,
    parameterSize,
    quantization: embedding ? 'F16' : 'Q4_K_M',
    size: Math.round(billions * (embedding ? 2e9 : 0.6e9)),
    digest: createHash('sha256').update(full).digest('hex'),
    embedding,
    modifiedAt: STARTED_AT,
  };
}

/** Finds an installed model by the name a client asked for. */
export function findModel(models: string[], requested: string): FakeModelInfo | undefined {
  const wanted = canonicalModelName(requested);
  const hit = models.find((m) => canonicalModelName(m) === wanted);
  return hit === undefined ? undefined : describeModel(hit);
}

/** The `details` object of /api/tags, /api/show and /api/ps. */
export function modelDetails(info: FakeModelInfo): Record<string, unknown> {
  return {
    parent_model: '',
    format: 'gguf',
    family: info.family,
    families: [info.family],
    parameter_size: info.parameterSize,
    quantization_level: info.quantization,
  };
}

/** Deterministic prompt token count: one token per 4 characters, at least 1. */
export function countTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/** Splits `text` into `n` nearly equal pieces (fewer when the text is shorter). */
export function splitReply(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.min(n, chars.length);
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * chars.length) / count);
    const to = Math.floor(((i + 1) * chars.length) / count);
    pieces.push(chars.slice(from, to).join(''));
  }
  return pieces;
}

/**
 * Plans an answer. Without a `reply` option the answer is `tok1 tok2 … tokN`
 * (N = tokens). `numPredict` (options.num_predict / max_tokens) truncates it and
 * turns done_reason into "length".
 */
export function planGeneration(
  opts: ResolvedOllamaOptions,
  model: string,
  messages: PlainMessage[],
  numPredict: unknown,
): GenerationPlan {
  const chars = messages.reduce((sum, m) => sum + m.content.length, 0);
  let pieces = opts.reply
    ? splitReply(opts.reply({ model, messages }), opts.tokens)
    : Array.from({ length: opts.tokens }, (_, i) => (i === 0 ? 'tok1' : ` tok${i + 1}`));
  let doneReason: 'stop' | 'length' = 'stop';
  if (typeof numPredict === 'number' && numPredict > 0 && numPredict < pieces.length) {
    pieces = pieces.slice(0, numPredict);
    doneReason = 'length';
  }
  return { pieces, doneReason, promptEvalCount: countTokens(chars) };
}

/** Final-response statistics; durations in nanoseconds, never zero. */
export function computeStats(ex: OllamaExchange, promptEvalCount: number, evalCount: number): FinalStats {
  const loadDuration = 1_000_000;
  const promptEvalDuration = promptEvalCount * 100_000;
  const evalDuration = Math.max(1, evalCount) * Math.max(1, ex.opts.chunkDelayMs) * 1_000_000;
  const elapsed = Number(process.hrtime.bigint() - ex.startedAt);
  return {
    total_duration: Math.max(elapsed, loadDuration + promptEvalDuration + evalDuration),
    load_duration: loadDuration,
    prompt_eval_count: promptEvalCount,
    prompt_eval_duration: promptEvalDuration,
    eval_count: evalCount,
    eval_duration: evalDuration,
  };
}

/** A deterministic unit-length embedding of `text`, in float32 precision. */
export function embedText(text: string, dims: number): number[] {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  const raw: number[] = [];
  for (let i = 0; i < dims; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    h >>>= 0;
    raw.push((h / 0xffffffff) * 2 - 1);
  }
  const norm = Math.sqrt(raw.reduce((s, x) => s + x * x, 0)) || 1;
  return raw.map((x) => Math.fround(x / norm));
}

/** Parses JSON, returning Go-like error text on failure as Ollama's binder would. */
export function parseJson(raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    const first = raw.trim()[0];
    if (first !== undefined && !'{["-0123456789tfn'.includes(first)) {
      return { ok: false, message: `invalid character '${first}' looking for beginning of value` };
    }
    return { ok: false, message: 'unexpected EOF' };
  }
}

/** RFC 3339 timestamp for `created_at`. */
export function nowRfc3339(): string {
  return new Date().toISOString();
}
