import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UsageStatus } from '../core/db/schema.js';
import type { ForwardSpec } from './pipeline/types.js';

/** Tenants named in metric labels before the rest are grouped as "other" (bounds cardinality). */
export const MAX_TENANT_LABELS = 200;

/** A point-in-time view the scheduler and pool provide for the gauges. */
export interface SchedulerView {
  queued: Map<string, number>;
  inFlight: Map<string, number>;
  backends: { name: string; healthy: boolean; slots: number; inUse: number }[];
}

/**
 * The proxy's Prometheus metrics (`GET /metrics`): requests, tokens, latency and time to
 * first token, queue wait and depth, backend health. Tenant labels use the slug for the
 * first MAX_TENANT_LABELS tenants seen and "other" after that.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly tenantLabels = new Map<string, string>();
  private readonly requests = new Counter({
    name: 'anvil_proxy_requests_total',
    help: 'Requests forwarded, by endpoint, tenant and outcome',
    labelNames: ['endpoint', 'tenant', 'status'],
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'anvil_proxy_refused_total',
    help: 'Requests refused before reaching a backend (limits, queue full, no backend)',
    labelNames: ['endpoint', 'tenant', 'reason'],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'anvil_proxy_tokens_total',
    help: 'Tokens metered, by direction (in = prompt, out = completion)',
    labelNames: ['tenant', 'model', 'direction'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'anvil_proxy_request_duration_seconds',
    help: 'Time from admission to the last byte',
    labelNames: ['endpoint'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly ttft = new Histogram({
    name: 'anvil_proxy_time_to_first_token_seconds',
    help: 'Time from admission to the first streamed byte',
    labelNames: ['endpoint'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly wait = new Histogram({
    name: 'anvil_proxy_queue_wait_seconds',
    help: 'Time spent waiting for a GPU slot',
    labelNames: ['tenant'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(view: () => SchedulerView) {
    const self = this;
    new Gauge({
      name: 'anvil_proxy_queue_depth',
      help: 'Requests waiting for a slot, by tenant',
      labelNames: ['tenant'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [tenant, n] of view().queued) this.set({ tenant: self.label(tenant) }, n);
      },
    });
    new Gauge({
      name: 'anvil_proxy_in_flight',
      help: 'Requests running on a backend, by tenant',
      labelNames: ['tenant'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [tenant, n] of view().inFlight) this.set({ tenant: self.label(tenant) }, n);
      },
    });
    new Gauge({
      name: 'anvil_proxy_backend_healthy',
      help: '1 when the backend passes its health check',
      labelNames: ['backend'],
      registers: [this.registry],
      collect() {
        for (const b of view().backends) this.set({ backend: b.name }, b.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'anvil_proxy_backend_slots_in_use',
      help: 'Slots in use on each backend (of anvil_proxy_backend_slots)',
      labelNames: ['backend'],
      registers: [this.registry],
      collect() {
        for (const b of view().backends) this.set({ backend: b.name }, b.inUse);
      },
    });
    new Gauge({
      name: 'anvil_proxy_backend_slots',
      help: 'Slots of each backend (OLLAMA_SLOTS)',
      labelNames: ['backend'],
      registers: [this.registry],
      collect() {
        for (const b of view().backends) this.set({ backend: b.name }, b.slots);
      },
    });
  }

  /** Remembers a tenant's slug for its label (the first MAX_TENANT_LABELS get their own). */
  name(tenantId: string, slug: string): void {
    if (!this.tenantLabels.has(tenantId) && this.tenantLabels.size < MAX_TENANT_LABELS)
      this.tenantLabels.set(tenantId, slug);
  }

  /** The label of a tenant: its slug, or "other" past the cardinality bound. */
  label(tenantId: string): string {
    return this.tenantLabels.get(tenantId) ?? 'other';
  }

  /** A request ended after reaching a backend. */
  finished(
    spec: ForwardSpec,
    status: UsageStatus,
    counts: { promptTokens: number; completionTokens: number },
    seconds: number,
  ): void {
    const tenant = this.tenantOf(spec);
    this.requests.inc({ endpoint: spec.endpoint, tenant, status });
    this.tokens.inc({ tenant, model: spec.model, direction: 'in' }, counts.promptTokens);
    this.tokens.inc({ tenant, model: spec.model, direction: 'out' }, counts.completionTokens);
    this.duration.observe({ endpoint: spec.endpoint }, seconds);
  }

  /** A request waited `seconds` for its slot. */
  waited(spec: ForwardSpec, seconds: number): void {
    this.wait.observe({ tenant: this.tenantOf(spec) }, seconds);
  }

  /** The first byte of a streamed answer arrived `seconds` after admission. */
  firstByte(spec: ForwardSpec, seconds: number): void {
    this.ttft.observe({ endpoint: spec.endpoint }, seconds);
  }

  /** A request was refused before it reached a backend. */
  refused(spec: Pick<ForwardSpec, 'endpoint' | 'caller'>, err: unknown): void {
    const reason = (err as { code?: string }).code ?? 'error';
    this.refusals.inc({ endpoint: spec.endpoint, tenant: this.tenantOf(spec), reason });
  }

  private tenantOf(spec: Pick<ForwardSpec, 'caller'>): string {
    this.name(spec.caller.tenant.id, spec.caller.tenant.slug);
    return this.label(spec.caller.tenant.id);
  }
}
