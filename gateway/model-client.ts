import { Ollama } from 'ollama';
import type { ChatTurn } from '../core/conversations.js';

/** How a model call through the proxy failed, in terms the bot can explain to a person. */
export type ModelFailure =
  | { kind: 'limit'; message: string; retryAfterSeconds: number | null }
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'unavailable'; message: string };

/** Thrown by `ModelClient.chat`; `failure` says which kind of failure it was. */
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

  /** Asks the model for one answer on behalf of a tenant user. */
  async chat(
    who: { tenantId: string; userId: string },
    model: string,
    messages: ChatTurn[],
    signal?: AbortSignal,
  ): Promise<ModelAnswer> {
    const client = new Ollama({
      host: this.proxyUrl,
      headers: {
        authorization: `Bearer ${this.internalToken}`,
        'x-anvil-tenant': who.tenantId,
        'x-anvil-user': who.userId,
      },
      fetch: signal ? (input, init) => fetch(input, { ...init, signal }) : fetch,
    });
    try {
      const res = await client.chat({ model, messages, stream: false });
      return { text: res.message.content, model: res.model };
    } catch (err) {
      throw new ModelCallError(classify(err));
    }
  }
}

/** Maps the ollama client's errors onto the three kinds the bot tells apart. */
function classify(err: unknown): ModelFailure {
  const e = err as { name?: string; status_code?: number; message?: string };
  if (e.name === 'ResponseError' && typeof e.status_code === 'number') {
    if (e.status_code === 429) return { kind: 'limit', message: e.message ?? 'limit reached', retryAfterSeconds: null };
    if (e.status_code >= 500) return { kind: 'unavailable', message: e.message ?? 'model unavailable' };
    return { kind: 'refused', status: e.status_code, message: e.message ?? 'refused' };
  }
  return { kind: 'unavailable', message: `model proxy unreachable: ${e.message ?? String(err)}` };
}
