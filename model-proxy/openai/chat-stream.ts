/**
 * Ollama's streamed `/api/chat` (NDJSON) → OpenAI's streamed chat completion (SSE), one
 * line at a time as lines arrive: nothing is held back. The relay splits and parses each
 * line once (metering/lines.ts) and hands it here; the SSE text is built from string
 * templates around the few values that change, so a token costs one small
 * `JSON.stringify` rather than a whole chunk object.
 */

import { MALFORMED, type NdjsonLine } from '../metering/lines.js';
import type { StreamEncoder } from '../pipeline/types.js';
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

/**
 * The NDJSON → SSE state machine. The first chunk carries `delta.role: "assistant"`, then
 * content (and `reasoning`) deltas; tool calls become `delta.tool_calls` entries with
 * their `index`, an id (`call_…` when Ollama sent none) and arguments as a JSON string;
 * the final chunk has an empty delta and `finish_reason` (`tool_calls` if any call was
 * made, `length` when Ollama stopped at num_predict, else `stop`); with `includeUsage` a
 * `choices: []` chunk with `usage` follows; then `data: [DONE]`.
 *
 * An `{"error":"…"}` line, a line that is not JSON, or input that ends before Ollama's
 * final chunk becomes one `data: {"error":{…}}` event (the openai SDK raises APIError on
 * it) and nothing follows it, not even `[DONE]`.
 */
export class SseTranslator implements StreamEncoder {
  private state: 'open' | 'finished' | 'failed' = 'open';
  private roleSent = false;
  private nextToolIndex = 0;
  /** `data: {"id":…,"model":…,` — every chunk starts the same. */
  private readonly prefix: string;
  /** What follows `choices` in every chunk but the usage one. */
  private readonly suffix: string;

  constructor(private readonly ctx: SseContext) {
    this.prefix = `data: {"id":${JSON.stringify(ctx.id)},"object":"chat.completion.chunk","created":${ctx.created},"model":${JSON.stringify(ctx.model)},`;
    // OpenAI: with include_usage, every chunk but the last carries `usage: null`.
    this.suffix = ctx.includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  }

  /** The SSE text for one parsed Ollama line (possibly empty). */
  line(line: NdjsonLine): string {
    if (this.state !== 'open') return '';
    if (line === MALFORMED) return this.failure('the model backend sent a line that is not JSON');
    if (typeof line !== 'object' || line === null) return this.failure('the model backend sent an unexpected line');
    const chunk = line as OllamaChatResponse;
    if (chunk.error !== undefined) return this.failure(String(chunk.error));

    let out = '';
    const m = chunk.message;
    if (m?.tool_calls && m.tool_calls.length > 0) {
      // Ollama sends each call whole, so one delta carries its id, name and all arguments.
      const delta: Delta = {};
      if (m.content) delta.content = m.content;
      if (m.thinking) delta.reasoning = m.thinking;
      delta.tool_calls = toOpenAiToolCalls(m.tool_calls, this.ctx).map((c) => ({ index: this.nextToolIndex++, ...c }));
      out += this.chunk(JSON.stringify(this.withRole(delta)), null);
    } else if (m?.content || m?.thinking) {
      out += this.chunk(this.textDelta(m.content, m.thinking), null);
    }
    if (chunk.done === true) {
      const finish = finishReason(chunk.done_reason, this.nextToolIndex > 0);
      out += this.chunk(this.roleSent ? '{}' : '{"role":"assistant","content":""}', finish);
      this.roleSent = true;
      if (this.ctx.includeUsage) out += `${this.prefix}"choices":[],"usage":${JSON.stringify(usageOf(chunk))}}\n\n`;
      out += 'data: [DONE]\n\n';
      this.state = 'finished';
    }
    return out;
  }

  /** Ollama's body ended: an error event if its final chunk never came. */
  end(): string {
    return this.state === 'open' ? this.failure('the model backend ended the answer before its final chunk') : '';
  }

  /** An in-band error event; nothing follows it. */
  failure(message: string): string {
    if (this.state !== 'open') return '';
    this.state = 'failed';
    return sse(openAiError(500, message, null));
  }

  /** `{"role":"assistant","content":…,"reasoning":…}` as text, the role only in the first delta. */
  private textDelta(content: string | undefined, thinking: string | undefined): string {
    let d = this.roleSent ? '{' : '{"role":"assistant",';
    this.roleSent = true;
    if (content) d += `"content":${JSON.stringify(content)}`;
    if (thinking) d += `${content ? ',' : ''}"reasoning":${JSON.stringify(thinking)}`;
    return `${d}}`;
  }

  private withRole(delta: Delta): Delta {
    const d: Delta = this.roleSent ? delta : { role: 'assistant', ...delta };
    this.roleSent = true;
    return d;
  }

  private chunk(delta: string, finish: ChatCompletionChunk['choices'][number]['finish_reason']): string {
    const f = finish === null ? 'null' : `"${finish}"`;
    return `${this.prefix}"choices":[{"index":0,"delta":${delta},"finish_reason":${f},"logprobs":null}]${this.suffix}`;
  }
}
