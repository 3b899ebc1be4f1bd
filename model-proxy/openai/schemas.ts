/**
 * Request schemas of the proxy's OpenAI-compatible API (`POST /v1/chat/completions`,
 * `POST /v1/embeddings`). Loose objects: fields Anvil does not read (`user`, `metadata`,
 * `store`, `logit_bias`, …) are accepted and ignored, as a client written for OpenAI sends
 * them. What Anvil cannot honour (several choices, audio, token-id inputs) is refused
 * with a 400 that names the field, rather than silently answered differently.
 */
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';

const text = z.looseObject({ type: z.literal('text'), text: z.string() });
const image = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.union([z.looseObject({ url: z.string(), detail: z.string().optional() }), z.string()]),
});
const refusal = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

const textParts = z.array(text);
const userParts = z.array(z.discriminatedUnion('type', [text, image]));

/** An assistant tool call as the client sends it back: arguments are a JSON string. */
const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const systemMessage = z.looseObject({
  role: z.enum(['system', 'developer']),
  content: z.union([z.string(), textParts], { error: 'content must be a string or a list of text parts' }),
  name: z.string().optional(),
});
const userMessage = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), userParts], {
    error: 'content must be a string or a list of text and image_url parts (audio and file parts are not supported)',
  }),
  name: z.string().optional(),
});
const assistantMessage = z.looseObject({
  role: z.literal('assistant'),
  content: z
    .union([z.string(), z.array(z.discriminatedUnion('type', [text, refusal]))], {
      error: 'content must be a string, null, or a list of text and refusal parts',
    })
    .nullish(),
  tool_calls: z.array(toolCall).nullish(),
  /** Ollama's extension: the thinking of a reasoning model, sent back in history. */
  reasoning: z.string().nullish(),
  name: z.string().optional(),
});
const toolMessage = z.looseObject({
  role: z.literal('tool'),
  content: z.union([z.string(), textParts], { error: 'content must be a string or a list of text parts' }),
  tool_call_id: z.string(),
});

/** One message of a chat completion request. */
export const chatMessageSchema = z.discriminatedUnion(
  'role',
  [systemMessage, userMessage, assistantMessage, toolMessage],
  {
    error: 'role must be one of system, developer, user, assistant, tool',
  },
);
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** A function the model may call. */
export const chatToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});
export type ChatTool = z.infer<typeof chatToolSchema>;

const responseFormat = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      json_schema: z.looseObject({
        name: z.string(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullish(),
      }),
    }),
  ],
  { error: 'response_format.type must be text, json_object or json_schema' },
);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

/** `POST /v1/chat/completions` request body. */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1, 'model is required'),
  messages: z.array(chatMessageSchema).min(1, 'messages must hold at least one message'),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  response_format: responseFormat.nullish(),
  tools: z.array(chatToolSchema).nullish(),
  tool_choice: toolChoice.nullish(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high']).nullish(),
  n: z.literal(1, 'n must be 1: Anvil returns one choice per request').nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** `POST /v1/embeddings` request body. */
export const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1, 'model is required'),
  input: z.union([z.string(), z.array(z.string()).min(1, 'input must not be an empty list').max(2048)], {
    error: 'input must be a string or a list of strings (token-id inputs are not supported)',
  }),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
});
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** A 400 of the OpenAI-compatible API; `param` names the offending field, as OpenAI's errors do. */
export class OpenAiRequestError extends ValidationError {
  override name = 'OpenAiRequestError';
  constructor(
    message: string,
    readonly param: string | null = null,
    code = 'invalid_input',
  ) {
    super(message, code);
  }
}

/** `messages.0.content` → `messages[0].content`, the way OpenAI names parameters. */
function paramName(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const message = issues.map((i) => `${paramName(i.path) ?? 'body'}: ${i.message}`).join('; ');
  throw new OpenAiRequestError(message, paramName(issues[0]?.path ?? []));
}

/** Validates a chat completion body, throwing OpenAiRequestError (400) with every problem. */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  return parse(chatCompletionRequestSchema, body);
}

/** Validates an embeddings body, throwing OpenAiRequestError (400) with every problem. */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  return parse(embeddingsRequestSchema, body);
}
