/**
 * `POST /v1/embeddings` ↔ Ollama's native `/api/embed`. The openai SDK asks for
 * `encoding_format: "base64"` unless told otherwise and decodes the string as
 * little-endian float32s, so base64 answers are exactly that.
 */
import type { EmbeddingsRequest } from './schemas.js';
import type { OllamaEmbedRequest, OllamaEmbedResponse } from './wire.js';

/** How the client wants vectors: JSON numbers, or base64 of little-endian float32s. */
export type EncodingFormat = 'float' | 'base64';

/** OpenAI's embeddings answer. */
export interface EmbeddingList {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** A validated OpenAI embeddings request → Ollama's `/api/embed` body. */
export function toOllamaEmbed(req: EmbeddingsRequest): OllamaEmbedRequest {
  const body: OllamaEmbedRequest = { model: req.model, input: req.input };
  if (req.dimensions != null) body.dimensions = req.dimensions;
  return body;
}

/** The encoding the answer must use (`float` when the client named none, as OpenAI does). */
export function encodingFormatOf(req: EmbeddingsRequest): EncodingFormat {
  return req.encoding_format ?? 'float';
}

/** Float vector → base64 of its float32 little-endian bytes. */
export function floatsToBase64(values: readonly number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    buf.writeFloatLE(v, i * 4);
  });
  return buf.toString('base64');
}

/** Base64 of float32 little-endian bytes → numbers (the inverse of floatsToBase64). */
export function base64ToFloats(b64: string): number[] {
  const buf = Buffer.from(b64, 'base64');
  const out: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

/** Ollama's `/api/embed` answer → OpenAI's embedding list, usage from prompt_eval_count. */
export function fromOllamaEmbed(
  res: OllamaEmbedResponse,
  ctx: { model: string; encodingFormat: EncodingFormat },
): EmbeddingList {
  const tokens = res.prompt_eval_count ?? 0;
  return {
    object: 'list',
    data: res.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: ctx.encodingFormat === 'base64' ? floatsToBase64(vector) : vector,
    })),
    model: ctx.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
