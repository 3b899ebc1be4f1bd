/**
 * `POST /v1/chat/completions` ↔ Ollama's native `/api/chat`. Translating (instead of
 * forwarding to Ollama's own `/v1`) keeps one NDJSON meter for every request, so counts
 * are exact on both APIs. The field mapping follows Ollama's own compatibility layer
 * (ollama/ollama `openai/openai.go`) except where noted.
 */
import { randomBytes } from 'node:crypto';
import { type ChatCompletionRequest, type ChatMessage, OpenAiRequestError } from './schemas.js';
import type {
  ChatCompletion,
  ChatToolCall,
  CompletionContext,
  CompletionUsage,
  FinishReason,
  OllamaChatRequest,
  OllamaChatResponse,
  OllamaMessage,
  OllamaToolCall,
} from './wire.js';

/** A chat completion request translated for Ollama, with what the answer must look like. */
export interface TranslatedChat {
  body: OllamaChatRequest;
  /** The client streams and asked for a final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The client asked for SSE (`stream: true`); otherwise one `chat.completion` JSON. */
  stream: boolean;
}

/**
 * Translates a validated OpenAI chat request into Ollama's `/api/chat` body. Throws
 * OpenAiRequestError (400) for what cannot be translated: http(s) image URLs (the proxy
 * does not fetch URLs for clients), malformed data URLs, tool-call arguments that are not JSON.
 */
export function toOllamaChat(req: ChatCompletionRequest): TranslatedChat {
  const stream = req.stream === true;
  const body: OllamaChatRequest = {
    model: req.model,
    messages: req.messages.map((m, i) => toOllamaMessage(m, i, req.messages)),
    stream,
  };
  const options = toOllamaOptions(req);
  if (Object.keys(options).length > 0) body.options = options;

  const rf = req.response_format;
  if (rf?.type === 'json_object') body.format = 'json';
  else if (rf?.type === 'json_schema') body.format = rf.json_schema.schema ?? 'json';

  const tools = selectTools(req);
  if (tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: 'function' as const,
      function: {
        name: t.function.name,
        ...(t.function.description === undefined ? {} : { description: t.function.description }),
        ...(t.function.parameters === undefined ? {} : { parameters: t.function.parameters }),
      },
    }));
  }

  if (req.reasoning_effort === 'none') body.think = false;
  else if (req.reasoning_effort === 'minimal') body.think = 'low';
  else if (req.reasoning_effort) body.think = req.reasoning_effort;

  return { body, stream, includeUsage: stream && req.stream_options?.include_usage === true };
}

/**
 * Sampling options. Unlike Ollama's `/v1`, absent `temperature`/`top_p` are left absent
 * rather than forced to 1.0, so the model's own (Modelfile) defaults apply.
 */
function toOllamaOptions(req: ChatCompletionRequest): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) o.num_predict = maxTokens;
  if (req.temperature != null) o.temperature = req.temperature;
  if (req.top_p != null) o.top_p = req.top_p;
  if (req.seed != null) o.seed = req.seed;
  if (req.frequency_penalty != null) o.frequency_penalty = req.frequency_penalty;
  if (req.presence_penalty != null) o.presence_penalty = req.presence_penalty;
  if (typeof req.stop === 'string') o.stop = [req.stop];
  else if (req.stop && req.stop.length > 0) o.stop = req.stop;
  return o;
}

/**
 * Ollama has no `tool_choice`: `none` sends no tools, a named function sends only that
 * one, `auto` and `required` send them all (`required` cannot be enforced by Ollama).
 */
function selectTools(req: ChatCompletionRequest): NonNullable<ChatCompletionRequest['tools']> {
  const tools = req.tools ?? [];
  const choice = req.tool_choice;
  if (choice === 'none') return [];
  if (choice && typeof choice === 'object') {
    const named = tools.filter((t) => t.function.name === choice.function.name);
    if (named.length === 0) {
      throw new OpenAiRequestError(
        `tool_choice names function "${choice.function.name}", which is not in tools`,
        'tool_choice',
      );
    }
    return named;
  }
  return tools;
}

function partsText(content: string | { type: string; text?: string; refusal?: string }[] | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((p) => p.text ?? p.refusal ?? '')
    .filter((t) => t !== '')
    .join('\n');
}

const DATA_URL = /^data:(?:image\/[a-z0-9.+-]+)?;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** An OpenAI `image_url` → the bare base64 Ollama's `images` takes. */
function imageData(url: string, param: string): string {
  if (/^https?:\/\//i.test(url)) {
    throw new OpenAiRequestError(
      'image URLs are not supported; send the image inline as a base64 data URL (data:image/png;base64,…)',
      param,
    );
  }
  const prefix = DATA_URL.exec(url);
  const data = prefix ? url.slice(prefix[0].length).replace(/\s+/g, '') : '';
  if (!prefix || data === '' || data.length % 4 !== 0 || !BASE64.test(data)) {
    throw new OpenAiRequestError('invalid image: expected a base64 data URL (data:image/png;base64,…)', param);
  }
  return data;
}

function parseArguments(args: string, param: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args === '' ? '{}' : args);
  } catch {
    throw new OpenAiRequestError('tool call arguments must be a JSON object encoded as a string', param);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OpenAiRequestError('tool call arguments must be a JSON object encoded as a string', param);
  }
  return parsed as Record<string, unknown>;
}

/** The function a tool result answers, found from its tool_call_id (last match wins, as in Ollama). */
function toolNameFor(id: string, messages: ChatMessage[], before: number): string | undefined {
  for (let i = before - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== 'assistant') continue;
    const call = m.tool_calls?.find((c) => c.id === id);
    if (call) return call.function.name;
  }
  return undefined;
}

/**
 * One OpenAI message → one Ollama message. Content parts are merged into one message
 * (texts joined by newlines, images collected) so roles keep alternating, where Ollama's
 * `/v1` splits them into one message per part.
 */
function toOllamaMessage(m: ChatMessage, i: number, all: ChatMessage[]): OllamaMessage {
  switch (m.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: partsText(m.content) };
    case 'user': {
      if (typeof m.content === 'string') return { role: 'user', content: m.content };
      const images: string[] = [];
      const texts: string[] = [];
      m.content.forEach((p, j) => {
        if (p.type === 'text') texts.push(p.text);
        else {
          const url = typeof p.image_url === 'string' ? p.image_url : p.image_url.url;
          images.push(imageData(url, `messages[${i}].content[${j}].image_url`));
        }
      });
      return { role: 'user', content: texts.join('\n'), ...(images.length > 0 ? { images } : {}) };
    }
    case 'assistant': {
      const out: OllamaMessage = { role: 'assistant', content: partsText(m.content) };
      if (m.tool_calls && m.tool_calls.length > 0) {
        out.tool_calls = m.tool_calls.map((c, j) => ({
          id: c.id,
          function: {
            name: c.function.name,
            arguments: parseArguments(c.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`),
          },
        }));
      }
      if (m.reasoning) out.thinking = m.reasoning;
      return out;
    }
    case 'tool': {
      const name = toolNameFor(m.tool_call_id, all, i);
      return {
        role: 'tool',
        content: partsText(m.content),
        tool_call_id: m.tool_call_id,
        ...(name === undefined ? {} : { tool_name: name }),
      };
    }
  }
}

/** `call_` and 24 random base64url characters, like OpenAI's tool call ids. */
export function newToolCallId(): string {
  return `call_${randomBytes(18).toString('base64url')}`;
}

/** Ollama tool calls (arguments as objects) → OpenAI tool calls (arguments as JSON strings). */
export function toOpenAiToolCalls(calls: OllamaToolCall[], ctx: CompletionContext): ChatToolCall[] {
  const makeId = ctx.toolCallId ?? newToolCallId;
  return calls.map((c) => ({
    id: c.id || makeId(),
    type: 'function',
    function: {
      name: c.function.name,
      arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments),
    },
  }));
}

/** Ollama's done_reason → OpenAI's finish_reason; any tool call makes it `tool_calls`. */
export function finishReason(doneReason: string | undefined, sawToolCalls: boolean): FinishReason {
  if (sawToolCalls) return 'tool_calls';
  return doneReason === 'length' ? 'length' : 'stop';
}

/** Usage from Ollama's final counts; a count Ollama did not report is 0. */
export function usageOf(final: OllamaChatResponse): CompletionUsage {
  const prompt = final.prompt_eval_count ?? 0;
  const completion = final.eval_count ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Ollama's whole (`stream: false`) answer → OpenAI's `chat.completion`, usage included. */
export function fromOllamaChat(final: OllamaChatResponse, ctx: CompletionContext): ChatCompletion {
  const calls = final.message?.tool_calls ?? [];
  const toolCalls = toOpenAiToolCalls(calls, ctx);
  const content = final.message?.content ?? '';
  const thinking = final.message?.thinking;
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: content === '' && toolCalls.length > 0 ? null : content,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          ...(thinking ? { reasoning: thinking } : {}),
        },
        finish_reason: finishReason(final.done_reason, toolCalls.length > 0),
        logprobs: null,
      },
    ],
    usage: usageOf(final),
  };
}

/** A fresh completion id, `chatcmpl-` and 24 random characters. */
export function newCompletionId(): string {
  return `chatcmpl-${randomBytes(18).toString('base64url')}`;
}
