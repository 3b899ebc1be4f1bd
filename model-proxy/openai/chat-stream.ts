/**
 * Ollama's streamed `/api/chat` (NDJSON) → OpenAI's streamed chat completion (SSE), one
 * line at a time as bytes arrive: nothing is held back beyond an incomplete line.
 */
import { finishReason, toOpenAiToolCalls, usageOf } from './chat.js';
import { openAiError } from './errors.js';
import type { ChatCompletionChunk, CompletionContext, OllamaChatResponse } from './wire.js';

/** What the SSE stream needs to know about its completion. */
export interface SseContext extends CompletionContext {
  /** Send the final `choices: []` chunk with `usage` (the client set `stream_options.include_usage`). */
  includeUsage: boolean;
}

type Delta = ChatCompletionChunk['choices'][number]['delta'];

const sse = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;

/** The NDJSON → SSE state machine; ndjsonToSse wraps it in a TransformStream. */
class NdjsonToSse {
  private readonly decoder = new TextDecoder();
  private partial = '';
  private state: 'open' | 'finished' | 'failed' = 'open';
  private roleSent = false;
  private nextToolIndex = 0;

  constructor(private readonly ctx: SseContext) {}

  /** Bytes from Ollama → the SSE text they complete (possibly empty). */
  push(bytes: Uint8Array): string {
    this.partial += this.decoder.decode(bytes, { stream: true });
    let out = '';
    let nl = this.partial.indexOf('\n');
    while (nl !== -1) {
      out += this.line(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
      nl = this.partial.indexOf('\n');
    }
    return out;
  }

  /** Ollama's body ended: a last unterminated line, or an error if the final chunk never came. */
  end(): string {
    this.partial += this.decoder.decode();
    let out = this.line(this.partial);
    this.partial = '';
    if (this.state === 'open') out += this.fail('the model backend ended the answer before its final chunk');
    return out;
  }

  private line(text: string): string {
    if (this.state !== 'open' || text.trim() === '') return '';
    let chunk: OllamaChatResponse;
    try {
      chunk = JSON.parse(text) as OllamaChatResponse;
    } catch {
      return this.fail('the model backend sent a line that is not JSON');
    }
    if (typeof chunk !== 'object' || chunk === null) return this.fail('the model backend sent an unexpected line');
    if (chunk.error !== undefined) return this.fail(String(chunk.error));

    let out = '';
    const delta: Delta = {};
    const m = chunk.message;
    if (m?.content) delta.content = m.content;
    if (m?.thinking) delta.reasoning = m.thinking;
    if (m?.tool_calls && m.tool_calls.length > 0) {
      // Ollama sends each call whole, so one delta carries its id, name and all arguments.
      delta.tool_calls = toOpenAiToolCalls(m.tool_calls, this.ctx).map((c) => ({ index: this.nextToolIndex++, ...c }));
    }
    if (Object.keys(delta).length > 0) out += this.chunk(delta, null);
    if (chunk.done === true) {
      out += this.chunk(this.roleSent ? {} : { content: '' }, finishReason(chunk.done_reason, this.nextToolIndex > 0));
      if (this.ctx.includeUsage) out += sse({ ...this.head(), choices: [], usage: usageOf(chunk) });
      out += 'data: [DONE]\n\n';
      this.state = 'finished';
    }
    return out;
  }

  private head(): Omit<ChatCompletionChunk, 'choices'> {
    return { id: this.ctx.id, object: 'chat.completion.chunk', created: this.ctx.created, model: this.ctx.model };
  }

  private chunk(delta: Delta, finish: ChatCompletionChunk['choices'][number]['finish_reason']): string {
    const d: Delta = this.roleSent ? delta : { role: 'assistant', ...delta };
    this.roleSent = true;
    const c: ChatCompletionChunk = {
      ...this.head(),
      choices: [{ index: 0, delta: d, finish_reason: finish, logprobs: null }],
    };
    // OpenAI: with include_usage, every chunk but the last carries `usage: null`.
    if (this.ctx.includeUsage) c.usage = null;
    return sse(c);
  }

  /** An in-band error event (the openai SDK raises APIError on it); nothing follows it. */
  private fail(message: string): string {
    this.state = 'failed';
    return sse(openAiError(500, message, null));
  }
}

/**
 * A TransformStream from Ollama's `/api/chat` NDJSON bytes (split anywhere, even inside a
 * UTF-8 character) to OpenAI SSE bytes: the first chunk carries `delta.role: "assistant"`,
 * then content (and `reasoning`) deltas; tool calls become `delta.tool_calls` entries with
 * their `index`, an id (`call_…` when Ollama sent none) and arguments as a JSON string;
 * the final chunk has an empty delta and `finish_reason` (`tool_calls` if any call was
 * made, `length` when Ollama stopped at num_predict, else `stop`); with `includeUsage` a
 * `choices: []` chunk with `usage` follows; then `data: [DONE]`.
 *
 * An `{"error":"…"}` line, a line that is not JSON, or input that ends before Ollama's
 * final chunk becomes one `data: {"error":{…}}` event and the stream ends without
 * `[DONE]`. A route that loses the backend mid-answer can write an `{"error":"…"}\n` line
 * into the writable side to tell the client the same way.
 */
export function ndjsonToSse(ctx: SseContext): TransformStream<Uint8Array, Uint8Array> {
  const translator = new NdjsonToSse(ctx);
  const encoder = new TextEncoder();
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(bytes, controller) {
      const out = translator.push(bytes);
      if (out !== '') controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      const out = translator.end();
      if (out !== '') controller.enqueue(encoder.encode(out));
    },
  });
}
