import type { Period } from './periods.js';
import type { Reservation } from './types.js';
import { SlidingWindow, type WindowEntry } from './window.js';

/** Used and held amounts of one UTC month or day. */
export interface Counter {
  period: Period;
  used: number;
  reserved: number;
}

/** Monthly tokens and daily messages of a tenant or a user. */
export interface Account {
  tokens: Counter | null;
  messages: Counter | null;
}

/** Sliding-minute use of a tenant or a key. */
export interface Rates {
  requests: SlidingWindow;
  /** Settled tokens, counted when they settle. */
  tokens: SlidingWindow;
  /** Tokens held by admitted requests that have not settled. */
  tokensInFlight: number;
}

/** Everything counted for one tenant. */
export interface TenantState {
  account: Account;
  rates: Rates;
  users: Map<string, Account>;
}

/** Empty per-minute windows. */
export const newRates = (): Rates => ({
  requests: new SlidingWindow(),
  tokens: new SlidingWindow(),
  tokensInFlight: 0,
});
/** An account whose counters start at first use. */
export const newAccount = (): Account => ({ tokens: null, messages: null });

/** The one implementation of `Reservation`: what an admitted request holds, given back once. */
export class Hold implements Reservation {
  private done = false;

  constructor(
    readonly tokens: number,
    private readonly tokenCounters: Counter[],
    private readonly messageCounters: Counter[],
    private readonly rates: { rates: Rates; request: WindowEntry }[],
    private readonly now: () => number,
  ) {}

  settle(actualTokens: number): void {
    if (this.done) return;
    this.done = true;
    // A count that cannot be right is taken as the worst case rather than as nothing.
    const actual = Number.isFinite(actualTokens) && actualTokens >= 0 ? Math.ceil(actualTokens) : this.tokens;
    for (const c of this.tokenCounters) {
      c.reserved -= this.tokens;
      c.used += actual;
    }
    for (const c of this.messageCounters) {
      c.reserved -= 1;
      c.used += 1;
    }
    const t = this.now();
    for (const { rates } of this.rates) {
      rates.tokensInFlight -= this.tokens;
      rates.tokens.add(t, actual);
    }
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    for (const c of this.tokenCounters) c.reserved -= this.tokens;
    for (const c of this.messageCounters) c.reserved -= 1;
    const t = this.now();
    for (const { rates, request } of this.rates) {
      rates.tokensInFlight -= this.tokens;
      rates.requests.remove(request, t);
    }
  }
}
