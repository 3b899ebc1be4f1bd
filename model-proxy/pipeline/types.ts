import type { ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import type { Caller } from '../caller.js';

/** A slot on a backend, handed out by the fair scheduler. */
export interface Lease {
  backend: { url: string; name: string };
  waitedMs: number;
  /** Gives the slot back; `failed` tells the pool the backend misbehaved. Idempotent. */
  release(opts?: { failed?: boolean; error?: unknown }): void;
}

/** Hands out backend slots fairly between tenants (model-proxy/scheduler). */
export interface Dispatcher {
  acquire(req: {
    tenantId: string;
    weight: number;
    maxConcurrent: number | null;
    model: string;
    exclude?: ReadonlySet<string>;
    signal?: AbortSignal;
  }): Promise<Lease>;
}

/** A budget reservation: settled with the real count or cancelled, exactly once. */
export interface Reservation {
  settle(actualTokens: number): void;
  cancel(): void;
}

/** Admits requests against budgets and rate limits (model-proxy/limits). */
export interface Admission {
  reserve(
    subject: { tenantId: string; userId: string | null; apiKeyId: string | null; endpoint: string },
    want: { tokens: number },
  ): Reservation;
}

/** Prices a request in micro-units (core/usage/prices). */
export type Pricer = (planId: string, model: string, promptTokens: number, completionTokens: number) => number;

/** One request on its way to a backend. */
export interface ForwardSpec {
  requestId: string;
  caller: Caller;
  /** The service logger; lines about this request carry its requestId. */
  log: Logger;
  /** The route the client called, for the ledger and metrics (e.g. /v1/chat/completions). */
  endpoint: string;
  /** The native Ollama path forwarded to. */
  backendPath: '/api/chat' | '/api/generate' | '/api/embed';
  model: string;
  /**
   * The JSON text sent to the backend: the client's own bytes on the Ollama API (validated,
   * not re-serialised, so a large image body is not copied again), the translation on /v1.
   */
  payload: string;
  stream: boolean;
  /** Estimated prompt tokens (used when the backend reports none, and for the reservation). */
  promptEstimate: number;
  /** The most completion tokens this request may produce (for the reservation). */
  maxCompletion: number;
  /** Aborted when the client goes away. */
  clientSignal: AbortSignal;
}

/**
 * Turns a streamed answer's parsed NDJSON lines into what the client reads (OpenAI SSE).
 * Without one, the backend's bytes pass through untouched.
 */
export interface StreamEncoder {
  /** The text for one parsed line (possibly empty). */
  line(line: unknown): string;
  /** The text after the backend's last byte (possibly empty). */
  end(): string;
  /** The text that tells the client the backend failed mid-answer; nothing follows it. */
  failure(message: string): string;
}

/**
 * What the backend answered: a whole JSON body, or a stream being metered that the route
 * relays to its client once it has written the response head.
 */
export type Forwarded =
  | { kind: 'json'; json: Record<string, unknown> /** the backend's own text of `json` */; text: string }
  | { kind: 'stream'; relay(out: ServerResponse, encoder?: StreamEncoder): void };
