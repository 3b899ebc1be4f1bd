/**
 * Errors of the proxy's OpenAI-compatible API in OpenAI's shape,
 * `{"error":{"message","type","param","code"}}`. The openai SDK picks its error class from
 * the HTTP status alone (400 BadRequestError, 401 AuthenticationError, 403
 * PermissionDeniedError, 404 NotFoundError, 409 ConflictError, 422 UnprocessableEntityError,
 * 429 RateLimitError, ≥500 InternalServerError); `type` and `code` are what OpenAI itself
 * writes for that status, so code written against OpenAI's bodies reads ours the same way.
 */
import { AnvilError, LimitError, UpstreamRefusedError } from '../../core/errors.js';
import { OpenAiRequestError } from './schemas.js';

/** OpenAI's error body. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * The `type` OpenAI writes for a status: `invalid_request_error` for 400/401/404 and most
 * 4xx, `request_forbidden` for 403, `requests` for 429 (OpenAI also uses `tokens` and
 * `insufficient_quota`; pass `type` to say so), `server_error` for 5xx.
 */
export function openAiErrorType(status: number): string {
  if (status >= 500) return 'server_error';
  if (status === 429) return 'requests';
  if (status === 403) return 'request_forbidden';
  return 'invalid_request_error';
}

/** Default codes where OpenAI always sends one. */
function defaultCode(status: number): string | null {
  if (status === 401) return 'invalid_api_key';
  if (status === 429) return 'rate_limit_exceeded';
  return null;
}

/**
 * An OpenAI-shaped error body for `status`. `code` defaults to `invalid_api_key` on 401 and
 * `rate_limit_exceeded` on 429 (null elsewhere); `param` names the offending request field.
 */
export function openAiError(
  status: number,
  message: string,
  code?: string | null,
  opts: { param?: string | null; type?: string } = {},
): OpenAiErrorBody {
  return {
    error: {
      message,
      type: opts.type ?? openAiErrorType(status),
      param: opts.param ?? null,
      code: code === undefined ? defaultCode(status) : code,
    },
  };
}

/** An error translated for a `/v1/*` response. */
export interface OpenAiErrorResponse {
  status: number;
  body: OpenAiErrorBody;
  /** For a `Retry-After` header (429 limits). */
  retryAfterSeconds?: number;
}

/**
 * Any error thrown on a `/v1/*` route → status and OpenAI body, for the app's `onError`.
 * AnvilErrors keep their status, message and stable code (an Ollama 404 becomes
 * `model_not_found`); anything else is a 500 whose message carries only the request id.
 */
export function toOpenAiError(err: unknown, requestId?: string): OpenAiErrorResponse {
  if (err instanceof OpenAiRequestError) {
    return { status: 400, body: openAiError(400, err.message, err.code, { param: err.param }) };
  }
  if (err instanceof UpstreamRefusedError && err.upstreamStatus === 404) {
    return { status: 404, body: openAiError(404, err.message, 'model_not_found', { param: 'model' }) };
  }
  if (err instanceof AnvilError) {
    const out: OpenAiErrorResponse = { status: err.status, body: openAiError(err.status, err.message, err.code) };
    if (err instanceof LimitError) out.retryAfterSeconds = err.retryAfterSeconds;
    return out;
  }
  return {
    status: 500,
    body: openAiError(500, `internal error (request ${requestId ?? 'unknown'})`, null),
  };
}
