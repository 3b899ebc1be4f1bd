/**
 * Ollama's OpenAI-compatible API (/v1/*) for the fake Ollama: chat completions
 * (whole and SSE-streamed, with stream_options.include_usage), embeddings and
 * the model list, shaped as Ollama's openai middleware writes them.
 */
import { isArray, isRecord, sendJson, sleep } from './http-util.js';
import { answerWhole, openAIErrorBody, sendOpenAIError, streamGeneration } from './ollama-respond.js';
import {
  countTokens,
  describeModel,
  embedText,
  type FakeModelInfo,
  type FinalStats,
  findModel,
  type OllamaExchange,
  type PlainMessage,
  parseJson,
  planGeneration,
} from './ollama-shared.js';

function body(ex: OllamaExchange): Record<string, unknown> | undefined {
  if (ex.rawBody.trim() === '') {
    sendOpenAIError(ex, 400, 'EOF');
    return undefined;
  }
  const parsed = parseJson(ex.rawBody);
  if (!parsed.ok) {
    sendOpenAIError(ex, 400, parsed.message);
    return undefined;
  }
  if (!isRecord(parsed.value)) {
    sendOpenAIError(ex, 400, 'json: cannot unmarshal into Go value of type openai.ChatCompletionRequest');
    return undefined;
  }
  return parsed.value;
}

function model(
  ex: OllamaExchange,
  b: Record<string, unknown>,
  chat: boolean,
): { name: string; info: FakeModelInfo } | undefined {
  const name = typeof b.model === 'string' ? b.model : '';
  if (name.trim() === '') {
    sendOpenAIError(ex, 400, 'model is required');
    return undefined;
  }
  const info = findModel(ex.opts.models, name);
  if (!info) {
    sendOpenAIError(ex, 404, `model "${name}" not found, try pulling it first`);
    return undefined;
  }
  if (chat && info.embedding) {
    sendOpenAIError(ex, 400, `"${name}" does not support chat`);
    return undefined;
  }
  return { name, info };
}

/** OpenAI message content (string, parts array or null) → text, or an error message. */
function messageText(content: unknown): { text: string } | { error: string } {
  if (typeof content === 'string') return { text: content };
  if (content === null || content === undefined) return { text: '' };
  if (!isArray(content)) return { error: `invalid message content type: ${typeof content}` };
  let text = '';
  for (const part of content) {
    if (!isRecord(part)) return { error: 'invalid message format' };
    if (part.type === 'text') {
      if (typeof part.text !== 'string') return { error: 'invalid message format' };
      text += part.text;
    } else if (part.type !== 'image_url') {
      return { error: 'invalid message format' };
    }
  }
  return { text };
}

function usageOf(stats: FinalStats): Record<string, number> {
  return {
    prompt_tokens: stats.prompt_eval_count,
    completion_tokens: stats.eval_count,
    total_tokens: stats.prompt_eval_count + stats.eval_count,
  };
}

const sse = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;

async function chatCompletions(ex: OllamaExchange): Promise<void> {
  const b = body(ex);
  if (!b) return;
  if (!isArray(b.messages) || b.messages.length === 0) {
    return sendOpenAIError(ex, 400, "[] is too short - 'messages'");
  }
  const messages: PlainMessage[] = [];
  for (const m of b.messages) {
    if (!isRecord(m)) return sendOpenAIError(ex, 400, 'invalid message format');
    const text = messageText(m.content);
    if ('error' in text) return sendOpenAIError(ex, 400, text.error);
    messages.push({ role: typeof m.role === 'string' ? m.role : '', content: text.text });
  }
  const found = model(ex, b, true);
  if (!found) return;
  ex.touchModel(found.info.name, undefined);
  const name = found.name;
  const plan = planGeneration(ex.opts, name, messages, b.max_tokens);
  const id = `chatcmpl-${ex.record.id % 1000}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: 'chat.completion.chunk', created, model: name, system_fingerprint: 'fp_ollama' };
  if (b.stream !== true) {
    return answerWhole(
      ex,
      plan,
      (content, stats) => ({
        id,
        object: 'chat.completion',
        created,
        model: name,
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: plan.doneReason }],
        usage: usageOf(stats),
      }),
      'application/json',
    );
  }
  const includeUsage = isRecord(b.stream_options) && b.stream_options.include_usage === true;
  const delta = (content: string) => ({ role: 'assistant', content });
  return streamGeneration(ex, plan, {
    contentType: 'text/event-stream',
    chunk: (piece) => sse({ ...head, choices: [{ index: 0, delta: delta(piece), finish_reason: null }] }),
    final: (stats, doneReason) => {
      let out = sse({ ...head, choices: [{ index: 0, delta: delta(''), finish_reason: doneReason }] });
      if (includeUsage) out += sse({ ...head, choices: [], usage: usageOf(stats) });
      return `${out}data: [DONE]\n\n`;
    },
    error: (message) => sse(openAIErrorBody(500, message)),
  });
}

function base64Floats(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) buf.writeFloatLE(v, i * 4);
  return buf.toString('base64');
}

async function embeddings(ex: OllamaExchange): Promise<void> {
  const b = body(ex);
  if (!b) return;
  const format = typeof b.encoding_format === 'string' ? b.encoding_format : '';
  if (format !== '' && !/^(float|base64)$/i.test(format)) {
    return sendOpenAIError(
      ex,
      400,
      `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`,
    );
  }
  const input = b.input === '' ? [''] : b.input;
  if (input === undefined || input === null || (isArray(input) && input.length === 0)) {
    return sendOpenAIError(ex, 400, 'invalid input');
  }
  const found = model(ex, b, false);
  if (!found) return;
  let inputs: string[];
  if (typeof input === 'string') inputs = [input];
  else if (isArray(input) && input.every((s): s is string => typeof s === 'string')) inputs = input;
  else return sendOpenAIError(ex, 400, 'invalid input type');
  const wanted = typeof b.dimensions === 'number' && b.dimensions > 0 ? b.dimensions : Infinity;
  const dims = Math.min(ex.opts.embeddingDims, wanted);
  ex.touchModel(found.info.name, undefined);
  const promptTokens = inputs.reduce((sum, s) => sum + countTokens(s.length), 0);
  ex.record.promptEvalCount = promptTokens;
  await sleep(ex.opts.firstChunkDelayMs);
  if (ex.res.destroyed) return;
  const asBase64 = format.toLowerCase() === 'base64';
  ex.record.finished = true;
  sendJson(
    ex.res,
    200,
    {
      object: 'list',
      data: inputs.map((s, index) => {
        const vector = embedText(s, dims);
        return { object: 'embedding', embedding: asBase64 ? base64Floats(vector) : vector, index };
      }),
      model: found.name,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    },
    'application/json',
  );
}

function modelEntry(id: string, info: FakeModelInfo): Record<string, unknown> {
  return { id, object: 'model', created: Math.floor(Date.parse(info.modifiedAt) / 1000), owned_by: 'library' };
}

/** Routes an OpenAI-compatible request; returns false when no route matches. */
export async function handleOpenAI(ex: OllamaExchange): Promise<boolean> {
  const method = ex.req.method ?? 'GET';
  if (method === 'POST' && ex.path === '/v1/chat/completions') await chatCompletions(ex);
  else if (method === 'POST' && ex.path === '/v1/embeddings') await embeddings(ex);
  else if (method === 'GET' && ex.path === '/v1/models') {
    ex.record.finished = true;
    const data = ex.opts.models.map((m) => {
      const info = describeModel(m);
      return modelEntry(info.name, info);
    });
    sendJson(ex.res, 200, { object: 'list', data }, 'application/json');
  } else if (method === 'GET' && ex.path.startsWith('/v1/models/')) {
    const name = decodeURIComponent(ex.path.slice('/v1/models/'.length));
    const info = findModel(ex.opts.models, name);
    if (!info) sendOpenAIError(ex, 404, `model '${name}' not found`);
    else {
      ex.record.finished = true;
      sendJson(ex.res, 200, modelEntry(name, info), 'application/json');
    }
  } else return false;
  return true;
}
