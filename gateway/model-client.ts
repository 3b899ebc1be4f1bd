import { Ollama } from 'ollama';
import type { ChatTurn } from '../core/conversations.js';

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

/**
 * The gateway's way to the model: every call goes through the model proxy (which meters
 * it), authenticated with the internal token and naming tenant and user.
 */
export class ModelClient {
  constructor(
    private readonly proxyUrl: string,
    private readonly internalToken: string,
  ) {}

  /** Asks the model for one whole answer on behalf of a tenant user. */
  async chat(who: ModelCaller, model: string, messages: ChatTurn[], signal?: AbortSignal): Promise<ModelAnswer> {
    const { client, response } = this.client(who, signal);
    try {
      const res = await client.chat({ model, messages, stream: false });
      return {
        text: res.message.content,
        model: res.model,
        requestId: response()?.headers.get('x-request-id') ?? null,
      };
    } catch (err) {
      throw new ModelCallError(classify(err, response()));
    }
  }

  /**
   * Starts a streamed answer (`stream: true`) on behalf of a tenant user. Resolves once the
   * proxy has answered with headers; refusals (429 limits, 503 busy, unreachable) reject with
   * `ModelCallError` before any text. Aborting `signal` closes the connection, so the proxy
   * stops the backend and meters what was produced as `aborted`.
   */
  async chatStream(who: ModelCaller, model: string, messages: ChatTurn[], signal?: AbortSignal): Promise<ModelStream> {
    const { client, response } = this.client(who, signal);
    let parts: AsyncIterable<{ message?: { content?: string } }>;
    try {
      parts = await client.chat({ model, messages, stream: true });
    } catch (err) {
      if (signal?.aborted) return { requestId: response()?.headers.get('x-request-id') ?? null, deltas: empty() };
      throw new ModelCallError(classify(err, response()));
    }
    const requestId = response()?.headers.get('x-request-id') ?? null;
    async function* deltas(): AsyncGenerator<string> {
      try {
        for await (const part of parts) {
          const text = part.message?.content;
          if (text) yield text;
        }
      } catch (err) {
        if (signal?.aborted) return;
        const message = `the answer stream failed: ${(err as Error).message}`;
        throw new ModelCallError({ kind: 'unavailable', message, requestId });
      }
    }
    return { requestId, deltas: deltas() };
  }

  /** An ollama client for one call, remembering the proxy's response for its headers. */
  private client(who: ModelCaller, signal: AbortSignal | undefined) {
    let last: Response | undefined;
    const client = new Ollama({
      host: this.proxyUrl,
      headers: {
        authorization: `Bearer ${this.internalToken}`,
        'x-anvil-tenant': who.tenantId,
        'x-anvil-user': who.userId,
      },
      fetch: async (input, init) => {
        const signals = [init?.signal, signal].filter((s): s is AbortSignal => !!s);
        const merged = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
        last = await fetch(input, { ...init, signal: merged });
        return last;
      },
    });
    return { client, response: () => last };
  }
}

async function* empty(): AsyncGenerator<string> {}

/** Maps the ollama client's errors onto the three kinds the bot tells apart. */
function classify(err: unknown, res: Response | undefined): ModelFailure {
  const e = err as { name?: string; status_code?: number; message?: string };
  const requestId = res?.headers.get('x-request-id') ?? null;
  if (e.name === 'ResponseError' && typeof e.status_code === 'number') {
    if (e.status_code === 429) {
      const retry = Number(res?.headers.get('retry-after'));
      return {
        kind: 'limit',
        message: e.message ?? 'limit reached',
        retryAfterSeconds: Number.isFinite(retry) && retry > 0 ? retry : null,
        requestId,
      };
    }
    if (e.status_code >= 500) return { kind: 'unavailable', message: e.message ?? 'model unavailable', requestId };
    return { kind: 'refused', status: e.status_code, message: e.message ?? 'refused', requestId };
  }
  return { kind: 'unavailable', message: `model proxy unreachable: ${e.message ?? String(err)}`, requestId };
}
