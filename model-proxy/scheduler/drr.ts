/** Keeps the number of visits before a tenant earns a whole request small. */
const MIN_WEIGHT = 0.01;

/** One tenant's FIFO queue and its deficit counter, while it has items waiting. */
interface Flow<T> {
  tenantId: string;
  weight: number;
  items: T[];
  /** Service the tenant is owed, in requests. */
  deficit: number;
  /** The tenant's quantum for the current visit of the cursor was already added. */
  visited: boolean;
}

/**
 * Weighted deficit round robin over per-tenant FIFO queues (Shreedhar & Varghese), with
 * no clocks and no I/O. A cursor walks the tenants that have items waiting; on each visit
 * a tenant's deficit grows by its weight, and it is served one item (cost 1) at a time
 * while the deficit lasts. Over many dispatches each waiting tenant gets a share of
 * service proportional to its weight; a newcomer joins at the end of the current round,
 * so it waits for at most one round.
 *
 * A tenant that cannot be served right now (its concurrency cap is reached, or none of
 * its items fits a free slot) is passed over without earning a quantum, so it never
 * saves up a burst while it is blocked.
 */
export class DeficitRoundRobin<T> {
  private readonly flows = new Map<string, Flow<T>>();
  private readonly ring: Flow<T>[] = [];
  private cursor = 0;
  private total = 0;

  /**
   * Adds an item at the end of its tenant's queue. The tenant's weight is the latest one
   * given; a weight that is not a positive number counts as 1, and weights below 0.01 as 0.01.
   */
  enqueue(tenantId: string, weight: number, item: T): void {
    const w = Number.isFinite(weight) && weight > 0 ? Math.max(weight, MIN_WEIGHT) : 1;
    let flow = this.flows.get(tenantId);
    if (!flow) {
      flow = { tenantId, weight: w, items: [], deficit: 0, visited: false };
      this.flows.set(tenantId, flow);
      if (this.ring.length === 0) {
        this.ring.push(flow);
        this.cursor = 0;
      } else {
        // Just before the cursor: the newcomer is visited last in the current round.
        this.ring.splice(this.cursor, 0, flow);
        this.cursor++;
      }
    }
    flow.weight = w;
    flow.items.push(item);
    this.total++;
  }

  /** Removes a waiting item (timed out, aborted); false when it is not queued. */
  remove(tenantId: string, item: T): boolean {
    const flow = this.flows.get(tenantId);
    const index = flow ? flow.items.indexOf(item) : -1;
    if (!flow || index === -1) return false;
    flow.items.splice(index, 1);
    this.total--;
    if (flow.items.length === 0) this.drop(flow);
    return true;
  }

  /** Items waiting, for one tenant or for all. */
  size(tenantId?: string): number {
    if (tenantId === undefined) return this.total;
    return this.flows.get(tenantId)?.items.length ?? 0;
  }

  /** The tenants with items waiting. */
  tenants(): string[] {
    return this.ring.map((f) => f.tenantId);
  }

  /**
   * Takes the next item to serve, or undefined when no tenant can be served.
   * `canServe` says whether a tenant may start another request (its cap); `fits` whether
   * an item can be placed now. Within a tenant the oldest item that fits goes first.
   */
  next(canServe: (tenantId: string) => boolean, fits: (item: T) => boolean): T | undefined {
    let passedOver = 0;
    while (this.ring.length > 0 && passedOver < this.ring.length) {
      const flow = this.ring[this.cursor] as Flow<T>;
      const index = canServe(flow.tenantId) ? flow.items.findIndex(fits) : -1;
      if (index === -1) {
        passedOver++;
        this.advance();
        continue;
      }
      passedOver = 0;
      if (!flow.visited) {
        flow.visited = true;
        flow.deficit += flow.weight;
      }
      if (flow.deficit < 1) {
        this.advance();
        continue;
      }
      flow.deficit -= 1;
      const [item] = flow.items.splice(index, 1) as [T];
      this.total--;
      if (flow.items.length === 0) this.drop(flow);
      return item;
    }
    return undefined;
  }

  private advance(): void {
    const flow = this.ring[this.cursor];
    if (flow) flow.visited = false;
    this.cursor = (this.cursor + 1) % this.ring.length;
  }

  /** An emptied queue leaves the round and forfeits its deficit, as in classic DRR. */
  private drop(flow: Flow<T>): void {
    const index = this.ring.indexOf(flow);
    this.ring.splice(index, 1);
    this.flows.delete(flow.tenantId);
    if (index < this.cursor) this.cursor--;
    if (this.cursor >= this.ring.length) this.cursor = 0;
  }
}
