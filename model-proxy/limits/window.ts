/** Length of the rate-limit window: limits are per sliding minute. */
export const WINDOW_MS = 60_000;

/** One amount counted in a window at one instant. */
export interface WindowEntry {
  readonly at: number;
  amount: number;
}

/**
 * A sliding one-minute log: amounts counted at instants, summed over the last minute.
 * Exact (no bucketing), so a limit of N per minute never admits N + 1 within any 60 s and
 * the time until room frees up is known to the millisecond. Entries are appended in time
 * order; expired ones are dropped from the front.
 */
export class SlidingWindow {
  private entries: WindowEntry[] = [];
  private head = 0;
  private sum = 0;

  /** Counts `amount` at `at`; returns the entry so it can be taken back. */
  add(at: number, amount: number): WindowEntry {
    const entry = { at, amount };
    this.entries.push(entry);
    this.sum += amount;
    return entry;
  }

  /** Takes an entry back (a cancelled request); harmless once it has expired or been removed. */
  remove(entry: WindowEntry, now: number): void {
    this.prune(now);
    if (entry.amount === 0) return; // expired (prune zeroes what it drops) or removed already
    this.sum -= entry.amount;
    entry.amount = 0;
  }

  /** The sum over the minute ending at `now`. */
  total(now: number): number {
    this.prune(now);
    return this.sum;
  }

  /**
   * Milliseconds from `now` until the sum has dropped by at least `excess` as entries
   * expire, or null when expiring every entry would not be enough.
   */
  waitToFree(excess: number, now: number): number | null {
    this.prune(now);
    let freed = 0;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i] as WindowEntry;
      freed += e.amount;
      if (freed >= excess) return Math.max(0, e.at + WINDOW_MS - now);
    }
    return null;
  }

  private prune(now: number): void {
    const cutoff = now - WINDOW_MS;
    while (this.head < this.entries.length) {
      const e = this.entries[this.head] as WindowEntry;
      if (e.at > cutoff) break;
      this.sum -= e.amount;
      e.amount = 0;
      this.head++;
    }
    // Compact now and then so the array does not grow without end.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
