/**
 * Ollama's native API (/api/*) for the fake Ollama: chat, generate, embed,
 * legacy embeddings, tags, show, ps and version, in the shapes of docs/api.md.
 */
import { isArray, isRecord, sendJson, sendText, sleep } from './http-util.js';
import { ps, show, tags } from './ollama-models.js';
import { answerWhole, type StreamFormat, sendOllamaError, streamGeneration } from './ollama-respond.js';
import {
  computeStats,
  countTokens,
  embedText,
  FAKE_OLLAMA_VERSION,
  type FakeModelInfo,
  findModel,
  type GenerationPlan,
  nowRfc3339,
  type OllamaExchange,
  type PlainMessage,
  parseJson,
  planGeneration,
} from './ollama-shared.js';

function jsonKind(value: unknown): string {
  if (isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** Parses the body as a JSON object, answering 400 the way Ollama's binder does when it is not. */
function bodyObject(ex: OllamaExchange, goType: string): Record<string, unknown> | undefined {
  if (ex.rawBody.trim() === '') {
    sendOllamaError(ex, 400, 'missing request body');
    return undefined;
  }
  const parsed = parseJson(ex.rawBody);
  if (!parsed.ok) {
    sendOllamaError(ex, 400, parsed.message);
    return undefined;
  }
  if (parsed.value === null) return {};
  if (!isRecord(parsed.value)) {
    const kind = jsonKind(parsed.value);
    sendOllamaError(ex, 400, `json: cannot unmarshal ${kind} into Go value of type api.${goType}`);
    return undefined;
  }
  return parsed.value;
}

/** Looks the requested model up; answers 400/404 like Ollama when it can't be used. */
function requireModel(
  ex: OllamaExchange,
  body: Record<string, unknown>,
  capability?: 'chat' | 'generate',
): { name: string; info: FakeModelInfo } | undefined {
  const raw = body.model ?? body.name;
  const name = typeof raw === 'string' ? raw : '';
  if (name.trim() === '') {
    sendOllamaError(ex, 400, 'model is required');
    return undefined;
  }
  const info = findModel(ex.opts.models, name);
  if (!info) {
    sendOllamaError(ex, 404, `model "${name}" not found, try pulling it first`);
    return undefined;
  }
  if (capability && info.embedding) {
    sendOllamaError(ex, 400, `"${name}" does not support ${capability}`);
    return undefined;
  }
  return { name, info };
}

function plainMessages(value: unknown): PlainMessage[] | string {
  if (value === undefined || value === null) return [];
  const bad = 'json: cannot unmarshal into Go struct field ChatRequest.messages of type []api.Message';
  if (!isArray(value)) return bad;
  const out: PlainMessage[] = [];
  for (const m of value) {
    if (!isRecord(m)) return bad;
    const content = m.content ?? '';
    if (typeof content !== 'string' || (m.role !== undefined && typeof m.role !== 'string')) return bad;
    out.push({ role: typeof m.role === 'string' ? m.role : '', content });
  }
  return out;
}

function isZeroKeepAlive(v: unknown): boolean {
  return v === 0 || (typeof v === 'string' && /^0+(\.0*)?[smh]?$/.test(v.trim()));
}

function numPredict(body: Record<string, unknown>): unknown {
  return isRecord(body.options) ? body.options.num_predict : undefined;
}

const line = (obj: unknown): string => `${JSON.stringify(obj)}\n`;

function ndjson(render: (piece: string) => unknown, final: StreamFormat['final']): StreamFormat {
  return {
    contentType: 'application/x-ndjson',
    chunk: (piece) => line(render(piece)),
    final,
    error: (message) => line({ error: message }),
  };
}

async function chat(ex: OllamaExchange): Promise<void> {
  const body = bodyObject(ex, 'ChatRequest');
  if (!body) return;
  const found = requireModel(ex, body, 'chat');
  if (!found) return;
  const messages = plainMessages(body.messages);
  if (typeof messages === 'string') return sendOllamaError(ex, 400, messages);
  const model = found.name;
  ex.touchModel(found.info.name, body.keep_alive);
  if (messages.length === 0) {
    const doneReason = isZeroKeepAlive(body.keep_alive) ? 'unload' : 'load';
    ex.record.finished = true;
    const message = { role: 'assistant', content: '' };
    return sendJson(ex.res, 200, { model, created_at: nowRfc3339(), message, done_reason: doneReason, done: true });
  }
  const plan = planGeneration(ex.opts, model, messages, numPredict(body));
  const message = (content: string) => ({ role: 'assistant', content });
  if (body.stream === false) {
    return answerWhole(ex, plan, (content, stats) => ({
      model,
      created_at: nowRfc3339(),
      message: message(content),
      done_reason: plan.doneReason,
      done: true,
      ...stats,
    }));
  }
  return streamGeneration(
    ex,
    plan,
    ndjson(
      (piece) => ({ model, created_at: nowRfc3339(), message: message(piece), done: false }),
      (stats, doneReason) =>
        line({ model, created_at: nowRfc3339(), message: message(''), done_reason: doneReason, done: true, ...stats }),
    ),
  );
}

function generateContext(body: Record<string, unknown>, plan: GenerationPlan): Record<string, unknown> {
  if (body.raw === true) return {};
  const length = Math.min(64, plan.promptEvalCount + plan.pieces.length);
  return { context: Array.from({ length }, (_, i) => 128000 + i) };
}

async function generate(ex: OllamaExchange): Promise<void> {
  const body = bodyObject(ex, 'GenerateRequest');
  if (!body) return;
  const found = requireModel(ex, body, 'generate');
  if (!found) return;
  if (body.prompt !== undefined && typeof body.prompt !== 'string') {
    return sendOllamaError(
      ex,
      400,
      'json: cannot unmarshal into Go struct field GenerateRequest.prompt of type string',
    );
  }
  const model = found.name;
  const prompt = typeof body.prompt === 'string' ? body.prompt : '';
  ex.touchModel(found.info.name, body.keep_alive);
  if (prompt === '') {
    const doneReason = isZeroKeepAlive(body.keep_alive) ? 'unload' : 'load';
    ex.record.finished = true;
    return sendJson(ex.res, 200, {
      model,
      created_at: nowRfc3339(),
      response: '',
      done: true,
      done_reason: doneReason,
    });
  }
  const messages: PlainMessage[] = [];
  if (typeof body.system === 'string' && body.system !== '') messages.push({ role: 'system', content: body.system });
  messages.push({ role: 'user', content: prompt });
  const plan = planGeneration(ex.opts, model, messages, numPredict(body));
  if (body.stream === false) {
    return answerWhole(ex, plan, (response, stats) => ({
      model,
      created_at: nowRfc3339(),
      response,
      done: true,
      done_reason: plan.doneReason,
      ...generateContext(body, plan),
      ...stats,
    }));
  }
  return streamGeneration(
    ex,
    plan,
    ndjson(
      (piece) => ({ model, created_at: nowRfc3339(), response: piece, done: false }),
      (stats, doneReason) =>
        line({
          model,
          created_at: nowRfc3339(),
          response: '',
          done: true,
          done_reason: doneReason,
          ...generateContext(body, plan),
          ...stats,
        }),
    ),
  );
}

async function embed(ex: OllamaExchange): Promise<void> {
  const body = bodyObject(ex, 'EmbedRequest');
  if (!body) return;
  const found = requireModel(ex, body);
  if (!found) return;
  let inputs: string[];
  if (body.input === undefined || body.input === null) inputs = [];
  else if (typeof body.input === 'string') inputs = [body.input];
  else if (isArray(body.input) && body.input.every((s): s is string => typeof s === 'string')) inputs = body.input;
  else return sendOllamaError(ex, 400, 'invalid input type');
  const wanted = typeof body.dimensions === 'number' && body.dimensions > 0 ? body.dimensions : Infinity;
  const dims = Math.min(ex.opts.embeddingDims, wanted);
  ex.touchModel(found.info.name, body.keep_alive);
  const promptEvalCount = inputs.reduce((sum, s) => sum + countTokens(s.length), 0);
  ex.record.promptEvalCount = promptEvalCount;
  await sleep(ex.opts.firstChunkDelayMs);
  if (ex.res.destroyed) return;
  const stats = computeStats(ex, promptEvalCount, 0);
  ex.record.finished = true;
  sendJson(ex.res, 200, {
    model: found.name,
    embeddings: inputs.map((s) => embedText(s, dims)),
    total_duration: stats.total_duration,
    load_duration: stats.load_duration,
    prompt_eval_count: promptEvalCount,
  });
}

function legacyEmbeddings(ex: OllamaExchange): void {
  const body = bodyObject(ex, 'EmbeddingRequest');
  if (!body) return;
  const found = requireModel(ex, body);
  if (!found) return;
  const prompt = typeof body.prompt === 'string' ? body.prompt : '';
  ex.record.promptEvalCount = prompt === '' ? 0 : countTokens(prompt.length);
  ex.record.finished = true;
  sendJson(ex.res, 200, { embedding: prompt === '' ? [] : embedText(prompt, ex.opts.embeddingDims) });
}

/** Routes a native-API request; returns false when no route matches. */
export async function handleNative(ex: OllamaExchange): Promise<boolean> {
  const method = ex.req.method ?? 'GET';
  const read = method === 'GET' || method === 'HEAD';
  const routes: Record<string, () => void | Promise<void>> = read
    ? {
        '/': () => sendText(ex.res, 200, 'Ollama is running'),
        '/api/version': () => sendJson(ex.res, 200, { version: FAKE_OLLAMA_VERSION }),
        '/api/tags': () => tags(ex),
        '/api/ps': () => ps(ex),
      }
    : method === 'POST'
      ? {
          '/api/chat': () => chat(ex),
          '/api/generate': () => generate(ex),
          '/api/embed': () => embed(ex),
          '/api/embeddings': () => legacyEmbeddings(ex),
          '/api/show': () => show(ex),
        }
      : {};
  const route = routes[ex.path];
  if (!route) return false;
  await route();
  return true;
}
