import { AnvilError, LimitError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { toOpenAiError } from '../openai/index.js';
import type { ApiShape } from '../routes/request.js';

/** An error answer: status, headers and the JSON body. */
export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * The answer to a refused or failed request, in the shape of the API called: OpenAI's
 * `{"error":{message,type,param,code}}` on `/v1/*`, Ollama's `{"error":"…"}` elsewhere.
 * Limits add `Retry-After` (and tell the openai SDK not to retry budgets that reset in
 * hours); a 5xx asks the client to come back in 30 s. `x-anvil-error-code` carries the
 * stable code on both shapes, so a client can tell a GPU queue that is full (`gpu_busy`,
 * `gpu_queue_full`) from a plan's limit, though both are 429s.
 */
export function errorReply(err: unknown, api: ApiShape, requestId: string | undefined): ErrorReply {
  const headers: Record<string, string> = {};
  if (requestId) headers['x-request-id'] = requestId;
  if (err instanceof AnvilError) headers['x-anvil-error-code'] = err.code;
  if (err instanceof LimitError) {
    headers['retry-after'] = String(err.retryAfterSeconds);
    if (err.retryAfterSeconds > 60) headers['x-should-retry'] = 'false';
  } else if (err instanceof AnvilError && err.status >= 500) headers['retry-after'] = '30';
  if (api === 'openai') {
    const { status, body } = toOpenAiError(err, requestId);
    return { status, headers, body };
  }
  if (!(err instanceof AnvilError))
    return { status: 500, headers, body: { error: `internal error (request ${requestId ?? 'unknown'})` } };
  return { status: err.status, headers, body: { error: err.message } };
}

/** Logs a refusal at info (the client's doing) and anything unexpected at error. */
export function logFailure(log: Logger, err: unknown, requestId: string | undefined): void {
  if (err instanceof AnvilError) log.info({ requestId, code: err.code, status: err.status }, err.message);
  else log.error({ requestId, err }, 'unexpected error in the model proxy');
}
