import { GPU_BUSY_CODES, LimitError, NotFoundError, UpstreamUnavailableError } from '../../core/errors.js';
import type { OllamaBackend } from '../backends/ollama/client.js';
import type { BackendPool } from '../backends/pool.js';
import { DeficitRoundRobin } from './drr.js';
import { type SchedulerStats, TenantRecord, totalsOf } from './stats.js';

/** How the scheduler bounds waiting. */
export interface FairSchedulerOptions {
  /** Longest a request waits for a slot before a 429. */
  maxWaitMs: number;
  /** Requests one tenant may have waiting (not running); one more is refused at once with a 429. */
  maxQueuedPerTenant: number;
  /** Clock for wait times, default Date.now. */
  now?: () => number;
}

/** A request asking for a slot. */
export interface AcquireRequest {
  tenantId: string;
  /** The tenant's plan weight: its share of the GPU relative to other waiting tenants. */
  weight: number;
  /** Slots the tenant may hold at once; null for no cap (a cap below 1 counts as 1). */
  maxConcurrent: number | null;
  /** The model asked for; only backends that have it (or whose models are unknown) are used. */
  model: string;
  /** Names of backends that already failed this request (for a retry before the first byte). */
  exclude?: ReadonlySet<string>;
  /** The caller gave up: the request leaves the queue and the promise rejects with the reason. */
  signal?: AbortSignal;
}

/** A slot on a backend, held until release(). */
export interface Lease {
  backend: OllamaBackend;
  /** Time spent waiting in the queue. */
  waitedMs: number;
  /**
   * Gives the slot back; later calls do nothing. Pass `failed: true` only when the backend
   * itself failed (unreachable, 5xx, broken stream), not when the client went away or
   * Ollama refused the request (4xx): failures in a row take the backend out.
   */
  release(opts?: { failed?: boolean; error?: unknown }): void;
}

/** A request in a tenant's queue. */
interface Waiter {
  req: AcquireRequest;
  tenant: TenantRecord;
  enqueuedAt: number;
  resolve(lease: Lease): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  onAbort: () => void;
}

/** Smoothing of the slot-hold time that Retry-After is estimated from. */
const HOLD_SMOOTHING = 0.2;

/**
 * Shares the pool's slots between tenants. Requests wait in per-tenant FIFO queues;
 * whenever a slot frees (or a backend comes back) the dispatcher hands slots out by
 * weighted deficit round robin, honouring each tenant's concurrency cap, and places each
 * request on the backend with the model that has the most free slots. No backend gets
 * more requests than it has slots, so Ollama's own queue stays empty and one tenant's
 * batch cannot starve the others.
 *
 * Waiting is bounded: after `maxWaitMs`, or at once when the tenant's queue is full, the
 * request is refused with a LimitError (429 + Retry-After); when no healthy backend has
 * the model it is refused with UpstreamUnavailableError (503) at once, or as soon as the
 * last such backend goes out while it waits.
 */
export class FairScheduler {
  private readonly queues = new DeficitRoundRobin<Waiter>();
  private readonly waiting = new Set<Waiter>();
  private readonly tenants = new Map<string, TenantRecord>();
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  private holdMs: number | null = null;

  constructor(
    private readonly pool: BackendPool,
    private readonly opts: FairSchedulerOptions,
  ) {
    if (!(opts.maxWaitMs > 0)) throw new Error(`maxWaitMs must be positive, got ${opts.maxWaitMs}`);
    if (!(opts.maxQueuedPerTenant >= 1)) {
      throw new Error(`maxQueuedPerTenant must be at least 1, got ${opts.maxQueuedPerTenant}`);
    }
    this.now = opts.now ?? Date.now;
    this.unsubscribe = pool.onChange(() => this.poolChanged());
  }

  /**
   * Waits for a slot that can run `req.model`. Resolves with a Lease that the caller must
   * release exactly when the backend request ends (a `finally` is the safe place); rejects
   * with LimitError, UpstreamUnavailableError, or the signal's abort reason.
   */
  acquire(req: AcquireRequest): Promise<Lease> {
    if (req.signal?.aborted) return Promise.reject(req.signal.reason);
    const tenant = this.tenant(req.tenantId);
    tenant.weight = req.weight;
    tenant.maxConcurrent = req.maxConcurrent === null ? null : Math.max(1, Math.floor(req.maxConcurrent));
    if (!this.pool.hasCandidate(req.model, req.exclude)) {
      tenant.unavailable++;
      return Promise.reject(this.unavailable(req));
    }
    const queued = this.queues.size(req.tenantId);
    if (queued >= this.opts.maxQueuedPerTenant) {
      tenant.queueFull++;
      const retry = this.retryAfterSeconds(queued);
      return Promise.reject(
        new LimitError(
          `The GPU is busy: ${queued} ${queued === 1 ? 'request' : 'requests'} of this tenant already ` +
            `waiting for a slot. Retry in ${retry} s.`,
          retry,
          GPU_BUSY_CODES.queueFull,
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        req,
        tenant,
        enqueuedAt: this.now(),
        resolve,
        reject,
        timer: setTimeout(() => this.expire(waiter), this.opts.maxWaitMs),
        onAbort: () => this.settle(waiter, req.signal?.reason, () => tenant.aborted++),
      };
      waiter.timer.unref();
      req.signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.add(waiter);
      this.queues.enqueue(req.tenantId, req.weight, waiter);
      this.dispatch();
    });
  }

  /** Queue depths, slots in use, wait times and refusals, per tenant and in total, plus the backends. */
  stats(): SchedulerStats {
    const tenants = [...this.tenants.values()].map((t) => t.snapshot(this.queues.size(t.tenantId)));
    return { tenants, totals: totalsOf(tenants), backends: this.pool.states() };
  }

  /** Refuses every waiting request (shutdown) and stops listening to the pool. Leases stay valid. */
  close(): void {
    this.unsubscribe();
    for (const w of [...this.waiting]) {
      this.settle(w, new UpstreamUnavailableError('Ollama', 'the model proxy is shutting down'));
    }
  }

  /** Hands free slots to waiting requests until none fits. */
  private dispatch(): void {
    while (this.waiting.size > 0 && this.pool.freeSlots() > 0) {
      const waiter = this.queues.next(
        (tenantId) => this.tenant(tenantId).underCap(),
        (w) => this.pool.pick(w.req.model, w.req.exclude) !== undefined,
      );
      if (!waiter) return;
      this.grant(waiter, this.pool.pick(waiter.req.model, waiter.req.exclude) as OllamaBackend);
    }
  }

  private grant(waiter: Waiter, backend: OllamaBackend): void {
    this.forget(waiter);
    const { tenant } = waiter;
    const waitedMs = Math.max(0, this.now() - waiter.enqueuedAt);
    const startedAt = this.now();
    this.pool.occupySlot(backend);
    tenant.dispatch(waitedMs);
    let released = false;
    waiter.resolve({
      backend,
      waitedMs,
      release: (opts) => {
        if (released) return;
        released = true;
        tenant.inFlight--;
        this.pool.freeSlot(backend);
        const held = this.now() - startedAt;
        this.holdMs = this.holdMs === null ? held : this.holdMs + HOLD_SMOOTHING * (held - this.holdMs);
        if (opts?.failed) this.pool.markFailure(backend, opts.error);
        else this.pool.markSuccess(backend);
        this.dispatch();
      },
    });
  }

  private expire(waiter: Waiter): void {
    if (!this.pool.hasCandidate(waiter.req.model, waiter.req.exclude)) {
      this.settle(waiter, this.unavailable(waiter.req), () => waiter.tenant.unavailable++);
      return;
    }
    const queued = this.queues.size(waiter.req.tenantId);
    const retry = this.retryAfterSeconds(queued);
    const waited = Math.round(this.opts.maxWaitMs / 100) / 10;
    const error = new LimitError(
      `The GPU is busy: the request waited ${waited} s for a free slot. Retry in ${retry} s.`,
      retry,
      GPU_BUSY_CODES.waitedTooLong,
    );
    this.settle(waiter, error, () => waiter.tenant.timedOut++);
  }

  /** A backend went in or out, or its models changed. */
  private poolChanged(): void {
    for (const w of [...this.waiting]) {
      if (!this.pool.hasCandidate(w.req.model, w.req.exclude)) {
        this.settle(w, this.unavailable(w.req), () => w.tenant.unavailable++);
      }
    }
    this.dispatch();
  }

  /** Takes a waiter out of the queue and rejects it; does nothing if it already left. */
  private settle(waiter: Waiter, error: unknown, count?: () => void): void {
    if (!this.waiting.has(waiter)) return;
    this.forget(waiter);
    this.queues.remove(waiter.req.tenantId, waiter);
    count?.();
    waiter.reject(error);
  }

  private forget(waiter: Waiter): void {
    this.waiting.delete(waiter);
    clearTimeout(waiter.timer);
    waiter.req.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private unavailable(req: AcquireRequest): UpstreamUnavailableError | NotFoundError {
    // Every backend is healthy and answered its model list, and none has the model: it does
    // not exist here (404, as Ollama says), rather than being out of reach for now (503).
    const states = this.pool.states();
    if (!req.exclude?.size && states.length > 0 && states.every((b) => b.healthy && b.models !== null)) {
      return new NotFoundError(`model "${req.model}" not found, try pulling it first`, 'model_not_found');
    }
    const tried = req.exclude?.size ? ` other than ${[...req.exclude].join(', ')}` : '';
    return new UpstreamUnavailableError('Ollama', `no healthy backend${tried} has model "${req.model}"`);
  }

  /** About how long until the tenant's queue drains: its depth × the mean hold time ÷ healthy slots. */
  private retryAfterSeconds(queued: number): number {
    const holdMs = this.holdMs ?? this.opts.maxWaitMs;
    const slots = Math.max(1, this.pool.healthySlots());
    return Math.min(60, Math.max(1, Math.ceil(((queued + 1) * holdMs) / slots / 1000)));
  }

  private tenant(tenantId: string): TenantRecord {
    let t = this.tenants.get(tenantId);
    if (!t) {
      t = new TenantRecord(tenantId);
      this.tenants.set(tenantId, t);
    }
    return t;
  }
}
