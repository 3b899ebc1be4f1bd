import { OllamaBackend } from './ollama/client.js';
import { normalizeModelName } from './ollama/model-name.js';

/** How a pool of Ollama backends is run. */
export interface BackendPoolOptions {
  /** Requests the proxy runs at once on each backend (match the backend's `OLLAMA_NUM_PARALLEL`). */
  slotsPerBackend: number;
  /** Time between health checks, default 5000 ms. */
  healthIntervalMs?: number;
  /** Failures reported in a row (markFailure) that take a backend out, default 3. */
  failureThreshold?: number;
  /** How long one health check may take, default the interval clamped to 500–5000 ms. */
  healthTimeoutMs?: number;
}

/** One backend as metrics and the console see it. */
export interface BackendState {
  name: string;
  url: string;
  /** Receives new requests. */
  healthy: boolean;
  slots: number;
  /** Slots held by leases right now. */
  inUse: number;
  /** Normalised model names from the last successful check; null before one succeeded. */
  models: string[] | null;
  /** Why the backend was last taken out; null once a check passes again. */
  lastError: string | null;
}

/** What the pool tracks about one backend. */
interface Member {
  backend: OllamaBackend;
  healthy: boolean;
  /** Null until a health check succeeded: every model is then possibly present. */
  models: Set<string> | null;
  inUse: number;
  failuresInARow: number;
  lastError: string | null;
}

/**
 * The Ollama backends of `OLLAMA_URLS`: their slots, health and models. A backend is
 * taken out when its health check (`GET /api/tags`) fails or when the request pipeline
 * reports `failureThreshold` failures in a row, and comes back when a check passes.
 * Backends start healthy with unknown models, so the proxy serves before the first check.
 * The FairScheduler hands the slots out; nothing else should call occupySlot/freeSlot.
 */
export class BackendPool {
  /** The backends, in the order of the URLs. */
  readonly backends: readonly OllamaBackend[];
  private readonly members: Member[];
  private readonly byBackend = new Map<OllamaBackend, Member>();
  private readonly listeners = new Set<() => void>();
  private readonly slots: number;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly threshold: number;
  private timer: NodeJS.Timeout | null = null;
  private stopping: AbortController | null = null;

  constructor(urls: string[], opts: BackendPoolOptions) {
    if (urls.length === 0) throw new Error('a backend pool needs at least one Ollama URL');
    if (!Number.isInteger(opts.slotsPerBackend) || opts.slotsPerBackend < 1) {
      throw new Error(`slotsPerBackend must be a whole number ≥ 1, got ${opts.slotsPerBackend}`);
    }
    this.slots = opts.slotsPerBackend;
    this.intervalMs = opts.healthIntervalMs ?? 5000;
    this.timeoutMs = opts.healthTimeoutMs ?? Math.min(5000, Math.max(500, this.intervalMs));
    this.threshold = Math.max(1, opts.failureThreshold ?? 3);
    this.members = urls.map((url) => ({
      backend: new OllamaBackend(url),
      healthy: true,
      models: null,
      inUse: 0,
      failuresInARow: 0,
      lastError: null,
    }));
    const names = new Set<string>();
    for (const m of this.members) {
      // Requests exclude failed backends by name, so two URLs must not share one.
      if (names.has(m.backend.name)) throw new Error(`Ollama backend ${m.backend.name} is listed twice`);
      names.add(m.backend.name);
      this.byBackend.set(m.backend, m);
    }
    this.backends = this.members.map((m) => m.backend);
  }

  /** Starts the periodic health checks, the first one right away. Calling it twice is harmless. */
  start(): void {
    if (this.stopping) return;
    const stopping = new AbortController();
    this.stopping = stopping;
    const round = async () => {
      await this.checkNow();
      if (stopping.signal.aborted) return;
      this.timer = setTimeout(round, this.intervalMs);
      this.timer.unref();
    };
    void round();
  }

  /** Stops the health checks and abandons any in progress. */
  stop(): void {
    this.stopping?.abort();
    this.stopping = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Checks every backend once and waits for the answers (also for startup and tests). */
  async checkNow(): Promise<void> {
    await Promise.all(this.members.map((m) => this.check(m)));
  }

  /**
   * Reports that a request failed because of the backend (unreachable, 5xx, broken
   * stream). `failureThreshold` reports in a row take the backend out until a check passes.
   */
  markFailure(backend: OllamaBackend, error?: unknown): void {
    const m = this.member(backend);
    m.failuresInARow++;
    if (m.healthy && m.failuresInARow >= this.threshold) {
      this.setHealth(m, false, `${m.failuresInARow} requests failed in a row: ${describe(error)}`);
    }
  }

  /** Reports a request that the backend served; it resets the failure count. */
  markSuccess(backend: OllamaBackend): void {
    this.member(backend).failuresInARow = 0;
  }

  /** Every backend's state, for metrics. */
  states(): BackendState[] {
    return this.members.map((m) => ({
      name: m.backend.name,
      url: m.backend.url,
      healthy: m.healthy,
      slots: this.slots,
      inUse: m.inUse,
      models: m.models ? [...m.models].sort() : null,
      lastError: m.lastError,
    }));
  }

  /** Calls `listener` whenever a backend goes in or out or its models change; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True when some healthy backend outside `exclude` may have the model, free slot or not. */
  hasCandidate(model: string, exclude?: ReadonlySet<string>): boolean {
    const wanted = normalizeModelName(model);
    return this.members.some((m) => this.serves(m, wanted, exclude));
  }

  /**
   * The healthy backend outside `exclude` that may have the model and has the most free
   * slots, or undefined when none has a free slot.
   */
  pick(model: string, exclude?: ReadonlySet<string>): OllamaBackend | undefined {
    const wanted = normalizeModelName(model);
    let best: Member | undefined;
    for (const m of this.members) {
      if (m.inUse >= this.slots || !this.serves(m, wanted, exclude)) continue;
      if (!best || m.inUse < best.inUse) best = m;
    }
    return best?.backend;
  }

  /**
   * A healthy backend for a call that takes no slot (`/api/show`, `/api/tags`): one that may
   * have `model` when it is given, the least busy first; undefined when none is healthy.
   */
  backendFor(model?: string): OllamaBackend | undefined {
    const wanted = model === undefined ? undefined : normalizeModelName(model);
    let best: Member | undefined;
    for (const m of this.members) {
      if (!m.healthy || (wanted !== undefined && m.models !== null && !m.models.has(wanted))) continue;
      if (!best || m.inUse < best.inUse) best = m;
    }
    return best?.backend;
  }

  /** Free slots on healthy backends, whatever their models. */
  freeSlots(): number {
    let free = 0;
    for (const m of this.members) if (m.healthy) free += Math.max(0, this.slots - m.inUse);
    return free;
  }

  /** Slots on healthy backends. */
  healthySlots(): number {
    return this.members.filter((m) => m.healthy).length * this.slots;
  }

  /** Takes one slot of a backend (the scheduler's job). */
  occupySlot(backend: OllamaBackend): void {
    this.member(backend).inUse++;
  }

  /** Gives one slot back (the scheduler's job). */
  freeSlot(backend: OllamaBackend): void {
    const m = this.member(backend);
    m.inUse = Math.max(0, m.inUse - 1);
  }

  private serves(m: Member, wanted: string, exclude: ReadonlySet<string> | undefined): boolean {
    return m.healthy && !exclude?.has(m.backend.name) && (m.models === null || m.models.has(wanted));
  }

  private async check(m: Member): Promise<void> {
    const stopping = this.stopping?.signal;
    const signal = stopping
      ? AbortSignal.any([stopping, AbortSignal.timeout(this.timeoutMs)])
      : AbortSignal.timeout(this.timeoutMs);
    try {
      const names = await m.backend.listModels(signal);
      if (stopping?.aborted) return;
      const models = new Set(names.map(normalizeModelName));
      const changed = !m.models || !sameSet(m.models, models);
      m.models = models;
      m.failuresInARow = 0;
      if (!m.healthy) this.setHealth(m, true, null);
      else if (changed) this.emit();
    } catch (err) {
      if (stopping?.aborted) return;
      if (m.healthy) this.setHealth(m, false, describe(err));
      else m.lastError = describe(err);
    }
  }

  private setHealth(m: Member, healthy: boolean, lastError: string | null): void {
    m.healthy = healthy;
    m.lastError = lastError;
    if (healthy) m.failuresInARow = 0;
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  private member(backend: OllamaBackend): Member {
    const m = this.byBackend.get(backend);
    if (!m) throw new Error(`backend ${backend.name} is not in this pool`);
    return m;
  }
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return err === undefined ? 'unknown error' : String(err);
}
