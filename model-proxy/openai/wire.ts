/**
 * The wire shapes on both sides of the translation: Ollama's native `/api/chat` and
 * `/api/embed` (docs/api.md) and the OpenAI objects the proxy answers with. Only the
 * fields the translation reads or writes are typed; every Ollama metric is optional.
 */

/** A tool call as Ollama writes it: arguments are an object, not a JSON string. */
export interface OllamaToolCall {
  id?: string;
  function: { index?: number; name: string; arguments: Record<string, unknown> | string };
}

/** One message of Ollama's `/api/chat`. */
export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Base64 image data without a `data:` prefix. */
  images?: string[];
  tool_calls?: OllamaToolCall[];
  /** The function a `tool` message answers (Ollama ≥ 0.7). */
  tool_name?: string;
  tool_call_id?: string;
  thinking?: string;
}

/** Ollama's `/api/chat` request body. */
export interface OllamaChatRequest {
  model: string;
  messages: OllamaMessage[];
  stream: boolean;
  options?: Record<string, unknown>;
  /** `"json"` or a JSON schema. */
  format?: 'json' | Record<string, unknown>;
  tools?: { type: 'function'; function: { name: string; description?: string; parameters?: unknown } }[];
  think?: boolean | 'low' | 'medium' | 'high';
}

/** One `/api/chat` NDJSON line, or the whole answer when `stream` is false. */
export interface OllamaChatResponse {
  model?: string;
  created_at?: string;
  message?: { role?: string; content?: string; thinking?: string; tool_calls?: OllamaToolCall[] };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  /** An in-band failure; ends the stream. */
  error?: string;
}

/** Ollama's `/api/embed` request body. */
export interface OllamaEmbedRequest {
  model: string;
  input: string | string[];
  dimensions?: number;
}

/** Ollama's `/api/embed` answer. */
export interface OllamaEmbedResponse {
  model?: string;
  embeddings: number[][];
  prompt_eval_count?: number;
}

/** OpenAI's token counts of one request. */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A tool call in an OpenAI answer: arguments are a JSON string. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Why the model stopped, in OpenAI's words. */
export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** OpenAI's `chat.completion` object (the non-streamed answer). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: null;
      tool_calls?: ChatToolCall[];
      /** Ollama's extension for a reasoning model's thinking. */
      reasoning?: string;
    };
    finish_reason: FinishReason;
    logprobs: null;
  }[];
  usage: CompletionUsage;
}

/** A tool call inside a streamed delta; `index` says which call the fragment belongs to. */
export interface ChatToolCallDelta extends ChatToolCall {
  index: number;
}

/** OpenAI's `chat.completion.chunk` object (one SSE event of a streamed answer). */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: {
      role?: 'assistant';
      content?: string;
      reasoning?: string;
      tool_calls?: ChatToolCallDelta[];
    };
    finish_reason: FinishReason | null;
    logprobs: null;
  }[];
  /** Present only when the client asked for usage: null on every chunk but the last. */
  usage?: CompletionUsage | null;
}

/** What every answer of one completion shares. */
export interface CompletionContext {
  /** `chatcmpl-…`, the same on every chunk. */
  id: string;
  /** Unix seconds, the same on every chunk. */
  created: number;
  /** The model name to report (usually the one the client asked for). */
  model: string;
  /** Makes the id of a tool call that Ollama sent without one; `call_<random>` by default. */
  toolCallId?: () => string;
}
