/** Token counts of one streamed or buffered Ollama answer. */
export interface MeterResult {
  promptTokens: number;
  completionTokens: number;
  /** True when both counts came from the backend's final chunk. */
  exact: boolean;
  /** The backend sent `done: true`. */
  done: boolean;
  /** An `{"error": …}` line arrived mid-stream. */
  error: string | null;
}

/** The fields of an Ollama chunk the meter reads; every metric is optional. */
interface OllamaChunk {
  done?: boolean;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
  message?: { content?: string; thinking?: string; tool_calls?: unknown[] };
  response?: string;
}

/**
 * Watches an Ollama NDJSON stream as it passes through, without holding it back: counts
 * content chunks (one per generated token in Ollama's streaming) and reads the exact
 * counts from the final chunk. When the stream ends early, the counts are estimated.
 */
export class NdjsonMeter {
  private partial = '';
  private readonly decoder = new TextDecoder();
  private chunks = 0;
  private final: OllamaChunk | null = null;
  private error: string | null = null;

  /** @param estimatedPromptTokens used when the backend never reports prompt_eval_count. */
  constructor(private readonly estimatedPromptTokens: number) {}

  /** Feeds raw bytes as they are forwarded to the client. */
  push(bytes: Uint8Array): void {
    this.partial += this.decoder.decode(bytes, { stream: true });
    let nl = this.partial.indexOf('\n');
    while (nl !== -1) {
      this.line(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
      nl = this.partial.indexOf('\n');
    }
  }

  /**
   * Reads one whole (non-streamed) response body. An embedding has no completion: its
   * count is exact with the prompt count alone.
   */
  whole(body: OllamaChunk, embedding = false): void {
    if (body.error) this.error = body.error;
    else this.final = embedding ? { ...body, done: true, eval_count: 0 } : body;
  }

  /** The counts so far: exact after the final chunk, estimated otherwise. */
  result(): MeterResult {
    if (this.partial.trim()) this.line(this.partial);
    this.partial = '';
    const f = this.final;
    const prompt = f?.prompt_eval_count;
    const completion = f?.eval_count;
    return {
      promptTokens: prompt ?? this.estimatedPromptTokens,
      completionTokens: completion ?? this.chunks,
      exact: prompt !== undefined && completion !== undefined,
      done: f?.done === true,
      error: this.error,
    };
  }

  private line(text: string): void {
    if (!text.trim()) return;
    let chunk: OllamaChunk;
    try {
      chunk = JSON.parse(text) as OllamaChunk;
    } catch {
      return; // a malformed line is passed through untouched and not counted
    }
    if (chunk.error) this.error = chunk.error;
    else if (chunk.done) this.final = chunk;
    else if (chunk.message?.content || chunk.message?.thinking || chunk.message?.tool_calls || chunk.response)
      this.chunks++;
  }
}

/** A rough prompt size (4 characters a token) for when the backend reports none. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
