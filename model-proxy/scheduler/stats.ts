import type { BackendState } from '../backends/pool.js';

/** How many recent waits each tenant keeps for stats(). */
export const RECENT_WAITS = 64;

/** One tenant's queue and slots, for metrics. Counters only grow. */
export interface TenantSchedulerStats {
  tenantId: string;
  /** Weight and cap given with the tenant's latest request. */
  weight: number;
  maxConcurrent: number | null;
  /** Requests waiting for a slot now. */
  queued: number;
  /** Slots the tenant holds now. */
  inFlight: number;
  /** Requests that got a slot (counter). */
  dispatched: number;
  /** Sum of the queue waits of those requests, in ms (counter; with `dispatched`, a mean). */
  waitedMsTotal: number;
  /** Queue waits of the latest dispatched requests, oldest first (at most RECENT_WAITS). */
  recentWaitsMs: number[];
  /** Requests refused after waiting maxWaitMs (counter). */
  timedOut: number;
  /** Requests refused at once because the tenant's queue was full (counter). */
  queueFull: number;
  /** Requests refused because no healthy backend had the model (counter). */
  unavailable: number;
  /** Requests whose caller gave up while they waited (counter). */
  aborted: number;
}

/** The scheduler's state, for metrics: per tenant, summed, and per backend. */
export interface SchedulerStats {
  tenants: TenantSchedulerStats[];
  totals: Omit<TenantSchedulerStats, 'tenantId' | 'weight' | 'maxConcurrent' | 'recentWaitsMs'>;
  backends: BackendState[];
}

/** What the scheduler keeps about a tenant it has seen. */
export class TenantRecord {
  weight = 1;
  maxConcurrent: number | null = null;
  inFlight = 0;
  dispatched = 0;
  waitedMsTotal = 0;
  timedOut = 0;
  queueFull = 0;
  unavailable = 0;
  aborted = 0;
  private readonly waits: number[] = [];
  private nextWait = 0;

  constructor(readonly tenantId: string) {}

  /** True while the tenant may start another request. */
  underCap(): boolean {
    return this.maxConcurrent === null || this.inFlight < this.maxConcurrent;
  }

  /** Counts a dispatched request and its wait. */
  dispatch(waitedMs: number): void {
    this.inFlight++;
    this.dispatched++;
    this.waitedMsTotal += waitedMs;
    if (this.waits.length < RECENT_WAITS) this.waits.push(waitedMs);
    else this.waits[this.nextWait] = waitedMs;
    this.nextWait = (this.nextWait + 1) % RECENT_WAITS;
  }

  /** A snapshot for stats(); `queued` comes from the queues. */
  snapshot(queued: number): TenantSchedulerStats {
    const full = this.waits.length === RECENT_WAITS;
    const recentWaitsMs = full
      ? [...this.waits.slice(this.nextWait), ...this.waits.slice(0, this.nextWait)]
      : [...this.waits];
    return {
      tenantId: this.tenantId,
      weight: this.weight,
      maxConcurrent: this.maxConcurrent,
      queued,
      inFlight: this.inFlight,
      dispatched: this.dispatched,
      waitedMsTotal: this.waitedMsTotal,
      recentWaitsMs,
      timedOut: this.timedOut,
      queueFull: this.queueFull,
      unavailable: this.unavailable,
      aborted: this.aborted,
    };
  }
}

/** Sums the tenants' stats. */
export function totalsOf(tenants: TenantSchedulerStats[]): SchedulerStats['totals'] {
  const totals = {
    queued: 0,
    inFlight: 0,
    dispatched: 0,
    waitedMsTotal: 0,
    timedOut: 0,
    queueFull: 0,
    unavailable: 0,
    aborted: 0,
  };
  for (const t of tenants) {
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += t[key];
  }
  return totals;
}
