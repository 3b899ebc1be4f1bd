import type { NdjsonLine } from './lines.js';

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
  private chunks = 0;
  private final: OllamaChunk | null = null;
  private error: string | null = null;

  /** @param estimatedPromptTokens used when the backend never reports prompt_eval_count. */
  constructor(private readonly estimatedPromptTokens: number) {}

  /**
   * Reads one streamed line (from NdjsonLines). A line that is not a JSON object is passed
   * through untouched and not counted.
   */
  readonly observe = (line: NdjsonLine): void => {
    if (typeof line !== 'object' || line === null) return;
    const chunk = line as OllamaChunk;
    if (chunk.error) this.error = chunk.error;
    else if (chunk.done) this.final = chunk;
    else if (chunk.message?.content || chunk.message?.thinking || chunk.message?.tool_calls || chunk.response)
      this.chunks++;
  };

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
}
