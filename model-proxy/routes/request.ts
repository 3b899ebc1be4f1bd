import type { ServerResponse } from 'node:http';
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Caller } from '../caller.js';
import type { ForwardSpec } from '../pipeline/types.js';

/** Completion tokens reserved for a request that names no limit of its own. */
export const DEFAULT_MAX_COMPLETION = 4_096;

/** Which API's shape a route answers (and fails) in. */
export type ApiShape = 'ollama' | 'openai';

/** A request to a metered route, authenticated and with its JSON body read. */
export interface MeteredRequest {
  requestId: string;
  caller: Caller;
  log: Logger;
  /** The parsed JSON body, not yet validated. */
  body: unknown;
  /** The body as the client sent it. */
  text: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Where the answer goes. */
  out: ServerResponse;
}

/**
 * A metered route (chat, generate, embed): served on node's request and response
 * directly, without building web Requests and Responses, because every model call takes
 * this path (model-proxy/http/listener.ts).
 */
export interface MeteredRoute {
  api: ApiShape;
  /** Validates, forwards through the pipeline and writes the answer; throws to refuse. */
  handle(req: MeteredRequest): Promise<void>;
}

/** Parses a request body as JSON or answers 400 with what is wrong. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`, 'invalid_json');
  }
}

/** Validates a body against a schema, answering 400 with every problem. */
export function validate<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/** A rough token count (four characters a token) for reservations and missing counts. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The parts of a ForwardSpec every route fills in the same way. */
export function specBase(
  req: MeteredRequest,
  endpoint: string,
): Pick<ForwardSpec, 'requestId' | 'caller' | 'log' | 'endpoint' | 'clientSignal'> {
  return { requestId: req.requestId, caller: req.caller, log: req.log, endpoint, clientSignal: req.signal };
}

/** Writes a whole JSON answer. */
export function sendJson(out: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  sendJsonText(out, status, JSON.stringify(body), headers);
}

/** Writes a whole answer that is JSON text already. */
export function sendJsonText(out: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  out.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  out.end(text);
}
