/**
 * Anvil's own errors. Each carries a stable `code` and the HTTP status it maps to; the
 * message says what to do. HTTP layers turn them into `{"error":{"code","message"}}`
 * (or Ollama's / OpenAI's shape on the proxy's compatible routes).
 */
export class AnvilError extends Error {
  override name = 'AnvilError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 400,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Input that fails validation (400). */
export class ValidationError extends AnvilError {
  override name = 'ValidationError';
  constructor(message: string, code = 'invalid_input') {
    super(code, message, 400);
  }
}

/** Missing or wrong credentials (401). */
export class UnauthorizedError extends AnvilError {
  override name = 'UnauthorizedError';
  constructor(message = 'Sign in first.', code = 'unauthorized') {
    super(code, message, 401);
  }
}

/** Known caller, not allowed (403): suspended tenant, disallowed model, read-only role. */
export class ForbiddenError extends AnvilError {
  override name = 'ForbiddenError';
  constructor(message: string, code = 'forbidden') {
    super(code, message, 403);
  }
}

/** The thing asked for does not exist, or is not the caller's to see (404). */
export class NotFoundError extends AnvilError {
  override name = 'NotFoundError';
  constructor(message: string, code = 'not_found') {
    super(code, message, 404);
  }
}

/** The request conflicts with what exists (409): duplicate slug, used invite. */
export class ConflictError extends AnvilError {
  override name = 'ConflictError';
  constructor(message: string, code = 'conflict') {
    super(code, message, 409);
  }
}

/**
 * The codes of a 429 that is the GPU's queue, not a plan's limit: the request waited too
 * long for a slot, or too many of the tenant's requests were already waiting. Clients
 * (the Telegram gateway) tell these as "busy".
 */
export const GPU_BUSY_CODES = { waitedTooLong: 'gpu_busy', queueFull: 'gpu_queue_full' } as const;

/** A limit was reached (429); `retryAfterSeconds` goes into `Retry-After`. */
export class LimitError extends AnvilError {
  override name = 'LimitError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'limit_reached',
  ) {
    super(code, message, 429);
  }
}

/** An upstream service (Ollama, Qdrant, S3, SearXNG) answered and refused the request. */
export class UpstreamRefusedError extends AnvilError {
  override name = 'UpstreamRefusedError';
  constructor(
    readonly service: string,
    readonly upstreamStatus: number,
    message: string,
  ) {
    super('upstream_refused', `${service} refused the request: ${message}`, upstreamStatus);
  }
}

/** An upstream service could not be reached or failed (503). */
export class UpstreamUnavailableError extends AnvilError {
  override name = 'UpstreamUnavailableError';
  constructor(
    readonly service: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super('upstream_unavailable', `${service} is unavailable: ${message}`, 503, options);
  }
}

/** The `{"error":{"code","message"}}` body of Anvil's own API. */
export function errorBody(err: AnvilError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } };
}
