import { NdjsonLines } from '../../../model-proxy/metering/lines.js';
import { type SseContext, SseTranslator } from '../../../model-proxy/openai/chat-stream.js';

/**
 * Ollama NDJSON bytes → OpenAI SSE bytes as a web TransformStream, composed from the
 * product's own line splitter and translator the way the proxy's relay composes them
 * (model-proxy/pipeline/forward.ts), for tests that feed bytes or need a stream.
 */
export function ndjsonToSse(ctx: SseContext): TransformStream<Uint8Array, Uint8Array> {
  const lines = new NdjsonLines();
  const sse = new SseTranslator(ctx);
  const encoder = new TextEncoder();
  let text = '';
  const onLine = (line: unknown) => {
    text += sse.line(line);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(bytes, controller) {
      text = '';
      lines.push(Buffer.from(bytes), onLine);
      if (text !== '') controller.enqueue(encoder.encode(text));
    },
    flush(controller) {
      text = '';
      lines.end(onLine);
      text += sse.end();
      if (text !== '') controller.enqueue(encoder.encode(text));
    },
  });
}
