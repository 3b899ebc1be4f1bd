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
  log: Logger;
  /** The route the client called, for the ledger and metrics (e.g. /v1/chat/completions). */
  endpoint: string;
  /** The native Ollama path forwarded to. */
  backendPath: '/api/chat' | '/api/generate' | '/api/embed';
  model: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** Estimated prompt tokens (used when the backend reports none, and for the reservation). */
  promptEstimate: number;
  /** The most completion tokens this request may produce (for the reservation). */
  maxCompletion: number;
  /** Aborted when the client goes away. */
  clientSignal: AbortSignal;
}

/** What the backend answered: a whole JSON body, or an NDJSON stream being metered. */
export type Forwarded =
  | { kind: 'json'; json: Record<string, unknown> }
  | { kind: 'stream'; stream: ReadableStream<Uint8Array> };
