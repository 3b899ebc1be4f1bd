/**
 * The proxy's OpenAI-compatible API as pure translations to and from Ollama's native API
 * (so the one NDJSON meter counts both APIs). A `/v1` route is built from them like this:
 *
 *   POST /v1/chat/completions
 *     req = parseChatCompletionRequest(json)            → 400 OpenAiRequestError
 *     { body, stream, includeUsage } = toOllamaChat(req) → 400 OpenAiRequestError
 *     res = backend.post('/api/chat', body, signal)      (the model name for plan checks is req.model)
 *     ctx = { id: newCompletionId(), created: unixSeconds, model: req.model }
 *     stream false: meter.whole(json); c.json(fromOllamaChat(json, ctx))
 *     stream true:  meteredNdjson.pipeThrough(ndjsonToSse({ ...ctx, includeUsage }))
 *                   as `text/event-stream`; a client's cancel reaches the NDJSON source;
 *                   on a backend failure write `{"error":"…"}\n` into the NDJSON side.
 *   POST /v1/embeddings
 *     req = parseEmbeddingsRequest(json); res = backend.post('/api/embed', toOllamaEmbed(req))
 *     c.json(fromOllamaEmbed(json, { model: req.model, encodingFormat: encodingFormatOf(req) }))
 *   GET /v1/models, /v1/models/:id → modelList(allowed, created), modelObject(id, created)
 *   onError for /v1/* → toOpenAiError(err, requestId) → { status, body, retryAfterSeconds? }
 */
export { fromOllamaChat, newCompletionId, newToolCallId, type TranslatedChat, toOllamaChat } from './chat.js';
export { type SseContext, SseTranslator } from './chat-stream.js';
export {
  base64ToFloats,
  type EmbeddingList,
  type EncodingFormat,
  encodingFormatOf,
  floatsToBase64,
  fromOllamaEmbed,
  toOllamaEmbed,
} from './embeddings.js';
export {
  type OpenAiErrorBody,
  type OpenAiErrorResponse,
  openAiError,
  openAiErrorType,
  toOpenAiError,
} from './errors.js';
export { type ModelList, type ModelObject, modelList, modelObject } from './models.js';
export {
  type ChatCompletionRequest,
  chatCompletionRequestSchema,
  type EmbeddingsRequest,
  embeddingsRequestSchema,
  OpenAiRequestError,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
} from './schemas.js';
export type * from './wire.js';
