import type { Context } from 'hono';
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { ProxyEnv } from '../context.js';
import type { ForwardSpec } from '../pipeline/types.js';

/** Completion tokens reserved for a request that names no limit of its own. */
export const DEFAULT_MAX_COMPLETION = 4_096;

/** Reads a JSON body or answers 400 with what is wrong. */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
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
  c: Context<ProxyEnv>,
  endpoint: string,
): Pick<ForwardSpec, 'requestId' | 'caller' | 'log' | 'endpoint' | 'clientSignal'> {
  return {
    requestId: c.get('requestId'),
    caller: c.get('caller'),
    log: c.get('log'),
    endpoint,
    clientSignal: c.req.raw.signal,
  };
}
