import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ChatTurn } from '../core/conversations.js';
import { GPU_BUSY_CODES } from '../core/errors.js';

/**
 * How a model call through the proxy failed, in terms the bot can explain to a person.
 * `requestId` is the proxy's `x-request-id` when it answered, for the log.
 */
export type ModelFailure =
  | { kind: 'limit'; message: string; retryAfterSeconds: number | null; requestId?: string | null }
  | { kind: 'refused'; status: number; message: string; requestId?: string | null }
  | { kind: 'unavailable'; message: string; requestId?: string | null };

/** Thrown by `ModelClient.chat` and `chatStream`; `failure` says which kind of failure it was. */
export class ModelCallError extends Error {
  override name = 'ModelCallError';
  constructor(readonly failure: ModelFailure) {
    super(failure.message);
  }
}

/** A finished answer from the model. */
export interface ModelAnswer {
  text: string;
  model: string;
  /** The proxy's request id (its ledger row), when it sent one. */
  requestId?: string | null;
}

/**
 * A streamed answer whose response headers have arrived. Iterate `deltas` for the text as
 * it is generated; it ends quietly when the caller's signal aborts, and throws
 * `ModelCallError` (kind `unavailable`) when the stream fails midway.
 */
export interface ModelStream {
  /** The proxy's request id (its ledger row). */
  requestId: string | null;
  deltas: AsyncIterable<string>;
}

/** Who a model call is made for: the proxy meters it to this tenant and user. */
export interface ModelCaller {
  tenantId: string;
  userId: string;
}

/** One line of Ollama's `/api/chat` answer (streamed: one per chunk, the last with `done`). */
interface ChatLine {
  model?: string;
  message?: { content?: string };
  done?: boolean;
  error?: string;
}

/**
 * The gateway's way to the model: every call goes through the model proxy (which meters
 * it), authenticated with the internal token and naming tenant and user. Ollama's `/api/chat`
 * is spoken directly over `node:http` with keep-alive connections: the proxy is on the same
 * host or network, and this is the gateway's hottest outgoing call (fetch's WHATWG streams
 * cost several times more CPU per answer than a socket read and a line split).
 */
/** How long an idle connection to the proxy is kept. */
const IDLE_CONNECTION_MS = 30_000;

export class ModelClient {
  private readonly url: URL;
  private readonly request: typeof httpRequest;
  private readonly agent: HttpAgent;

  constructor(
    proxyUrl: string,
    private readonly internalToken: string,
  ) {
    this.url = new URL('/api/chat', proxyUrl);
    const https = this.url.protocol === 'https:';
    this.request = https ? httpsRequest : httpRequest;
    // Idle connections are closed after 30 s, before the proxy closes them (65 s,
    // core/http/serve.ts): a request never goes out on a connection the server is closing.
    const agent = { keepAlive: true, timeout: IDLE_CONNECTION_MS };
    this.agent = https ? new HttpsAgent(agent) : new HttpAgent(agent);
  }

  /** Asks the model for one whole answer on behalf of a tenant user. */
  async chat(who: ModelCaller, model: string, messages: ChatTurn[], signal?: AbortSignal): Promise<ModelAnswer> {
    const res = await this.open(who, model, messages, false, signal);
    const requestId = requestIdOf(res);
    let line: ChatLine;
    try {
      line = JSON.parse(await readAll(res)) as ChatLine;
    } catch (err) {
      throw new ModelCallError({ kind: 'unavailable', message: `bad answer: ${(err as Error).message}`, requestId });
    }
    if (line.error) throw new ModelCallError({ kind: 'unavailable', message: line.error, requestId });
    return { text: line.message?.content ?? '', model: line.model ?? model, requestId };
  }

  /**
   * Starts a streamed answer (`stream: true`) on behalf of a tenant user. Resolves once the
   * proxy has answered with headers; refusals (429 limits, 503 busy, unreachable) reject with
   * `ModelCallError` before any text. Aborting `signal` closes the connection, so the proxy
   * stops the backend and meters what was produced as `aborted`.
   */
  async chatStream(who: ModelCaller, model: string, messages: ChatTurn[], signal?: AbortSignal): Promise<ModelStream> {
    let res: IncomingMessage;
    try {
      res = await this.open(who, model, messages, true, signal);
    } catch (err) {
      if (signal?.aborted) return { requestId: null, deltas: empty() };
      throw err;
    }
    const requestId = requestIdOf(res);
    return { requestId, deltas: streamDeltas(res, requestId, signal) };
  }

  /**
   * Posts a chat request and resolves with the response once its headers are in and its
   * status is 2xx; otherwise rejects with the classified `ModelCallError`.
   */
  private async open(
    who: ModelCaller,
    model: string,
    messages: ChatTurn[],
    stream: boolean,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const body = JSON.stringify({ model, messages, stream });
    const options: RequestOptions = {
      method: 'POST',
      agent: this.agent,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${this.internalToken}`,
        'x-anvil-tenant': who.tenantId,
        'x-anvil-user': who.userId,
      },
      ...(signal ? { signal } : {}),
    };
    let res: IncomingMessage;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = this.request(this.url, options, resolve);
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      const message = `model proxy unreachable: ${(err as Error).message}`;
      throw new ModelCallError({ kind: 'unavailable', message, requestId: null });
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw new ModelCallError(await refusal(res, status));
  }
}

/** The proxy's request id (its ledger row), when it sent one. */
function requestIdOf(res: IncomingMessage): string | null {
  const id = res.headers['x-request-id'];
  return typeof id === 'string' ? id : null;
}

/**
 * Maps a non-2xx answer of the proxy onto the kinds the bot tells apart, with the proxy's
 * own words: a plan's limit (429), the GPU busy (a 429 whose `x-anvil-error-code` says so,
 * or a 5xx), or a refusal.
 */
async function refusal(res: IncomingMessage, status: number): Promise<ModelFailure> {
  const requestId = requestIdOf(res);
  let message = `Error ${status}: ${res.statusMessage ?? ''}`.trim();
  try {
    const text = await readAll(res);
    if (String(res.headers['content-type']).includes('application/json')) {
      const error = (JSON.parse(text) as { error?: unknown }).error;
      if (typeof error === 'string' && error) message = error;
    } else if (text) {
      message = text;
    }
  } catch {
    // An unreadable body leaves the status line as the message.
  }
  // The GPU's queue is full or too slow: a 429 as well, but nothing the plan limits.
  const code = res.headers['x-anvil-error-code'];
  if (status === 429 && Object.values<unknown>(GPU_BUSY_CODES).includes(code)) {
    return { kind: 'unavailable', message, requestId };
  }
  if (status === 429) {
    const retry = Number(res.headers['retry-after']);
    return { kind: 'limit', message, retryAfterSeconds: Number.isFinite(retry) && retry > 0 ? retry : null, requestId };
  }
  if (status >= 500) return { kind: 'unavailable', message, requestId };
  return { kind: 'refused', status, message, requestId };
}

async function readAll(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

/**
 * The text of a streamed answer, chunk by chunk, from Ollama's NDJSON lines. An in-band
 * `error` line, or an end without the `done` line (the connection was cut), is a failure
 * midway; an abort by the caller ends the text quietly.
 */
async function* streamDeltas(res: IncomingMessage, requestId: string | null, signal?: AbortSignal) {
  const fail = (message: string) =>
    new ModelCallError({ kind: 'unavailable', message: `the answer stream failed: ${message}`, requestId });
  res.setEncoding('utf8');
  let buffer = '';
  let done = false;
  try {
    for await (const chunk of res) {
      buffer += chunk as string;
      let nl = buffer.indexOf('\n');
      while (nl !== -1) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (!line) continue;
        const part = JSON.parse(line) as ChatLine;
        if (part.error) throw fail(part.error);
        const text = part.message?.content;
        if (text) yield text;
        if (part.done) done = true;
      }
    }
    if (buffer.trim()) {
      const part = JSON.parse(buffer) as ChatLine;
      if (part.error) throw fail(part.error);
      if (part.message?.content) yield part.message.content;
      if (part.done) done = true;
    }
  } catch (err) {
    if (signal?.aborted) return;
    if (err instanceof ModelCallError) throw err;
    throw fail((err as Error).message);
  } finally {
    // Leaving early (an abort, a failure) must not keep the connection half read.
    if (!res.complete) res.destroy();
  }
  if (signal?.aborted) return;
  if (!done) throw fail('the stream ended before the answer was complete');
}

async function* empty(): AsyncGenerator<string> {}
