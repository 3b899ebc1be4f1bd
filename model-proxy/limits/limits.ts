import type { Db } from '../../core/db/index.js';
import type { LimitError } from '../../core/errors.js';
import { MESSAGE_ENDPOINTS } from '../../core/usage/messages.js';
import { type Account, type Counter, Hold, newAccount, newRates, type Rates, type TenantState } from './hold.js';
import { dayOf, monthOf } from './periods.js';
import {
  periodRefusal,
  type RateScope,
  requestRateRefusal,
  TENANT_BUDGET,
  TENANT_MESSAGES,
  tokenRateRefusal,
  USER_MESSAGES,
  USER_TOKEN_CAP,
} from './refusals.js';
import { LIMIT_CACHE_MS, LimitStore, type UserLimitValues } from './store.js';
import type {
  LimitSubject,
  LimitsOptions,
  LimitsSnapshot,
  LimitWant,
  PeriodUsage,
  RateUsage,
  Reservation,
} from './types.js';

/**
 * Budgets and rate limits of the model proxy: an in-memory authority for one process.
 *
 * Only the model proxy writes the ledger, so this process can hold the truth: each counter
 * starts from what the ledger already holds for its UTC month or day, then follows the
 * reservations it hands out. `reserve` is synchronous, so its checks and its holds are one
 * atomic step: concurrent requests can never together pass a limit that each alone fits.
 *
 * Limits checked: the tenant's monthly token budget and messages/day (its own override,
 * else its plan's), the user's own monthly token cap and messages/day, requests/minute and
 * tokens/minute of the tenant and of the API key. Limit values are re-read from the
 * database every `cacheMs`. Per-minute history is not persisted: after a restart the
 * windows start empty.
 *
 * Overshoot: a request's hold is its worst case, so the budget cannot be passed unless a
 * settled count exceeds its hold (an estimate that was too low); then the budget is over
 * by that request's underestimate alone, and further requests are refused.
 */
export class Limits {
  private readonly now: () => number;
  private readonly store: LimitStore;
  private readonly messageEndpoints: ReadonlySet<string>;
  private readonly tenants = new Map<string, TenantState>();
  private readonly keys = new Map<string, Rates>();

  constructor(db: Db, opts: LimitsOptions = {}) {
    this.now = opts.now ?? Date.now;
    const endpoints = opts.messageEndpoints ?? MESSAGE_ENDPOINTS;
    this.messageEndpoints = new Set(endpoints);
    this.store = new LimitStore(db, this.now, opts.cacheMs ?? LIMIT_CACHE_MS, endpoints, opts.beforeUsageRead);
  }

  /**
   * Admits a request and holds its worst case against every limit that applies, or throws
   * the `LimitError` (429) of the first limit it does not fit, naming the limit and when it
   * resets. Every admitted request must end in exactly one `settle` or `cancel`.
   */
  reserve(subject: LimitSubject, want: LimitWant): Reservation {
    if (!Number.isFinite(want.tokens) || want.tokens < 0) {
      throw new RangeError(`a reservation needs a token count ≥ 0, got ${want.tokens}`);
    }
    const tokens = Math.ceil(want.tokens);
    const now = this.now();
    const { tenantId, userId, apiKeyId } = subject;
    const isMessage = this.messageEndpoints.has(subject.endpoint);

    const tl = this.store.tenant(tenantId);
    const tenant = this.tenantState(tenantId);
    const tTokens = this.monthTokens(tenant.account, tenantId, null, now);
    const tMessages = isMessage ? this.dayMessages(tenant.account, tenantId, null, now) : null;

    let user: { limits: UserLimitValues; tokens: Counter; messages: Counter | null } | null = null;
    if (userId !== null) {
      const account = this.userAccount(tenant, userId);
      user = {
        limits: this.store.user(tenantId, userId),
        tokens: this.monthTokens(account, tenantId, userId, now),
        messages: isMessage ? this.dayMessages(account, tenantId, userId, now) : null,
      };
    }
    const key =
      apiKeyId === null ? null : { limits: this.store.key(tenantId, apiKeyId), rates: this.keyRates(apiKeyId) };

    // Longest-lived limits first: their message tells the caller the most.
    const refusal =
      periodRefusal(TENANT_BUDGET, tl.monthlyTokenBudget, at(tTokens), tokens, now) ??
      (user && periodRefusal(USER_TOKEN_CAP, user.limits.monthlyTokenCap, at(user.tokens), tokens, now)) ??
      (tMessages && periodRefusal(TENANT_MESSAGES, tl.messagesPerDay, at(tMessages), 1, now)) ??
      (user?.messages && periodRefusal(USER_MESSAGES, user.limits.messagesPerDay, at(user.messages), 1, now)) ??
      requestRefusal('tenant', tl.requestsPerMinute, tenant.rates, now) ??
      (key && requestRefusal('API key', key.limits.requestsPerMinute, key.rates, now)) ??
      tokenRefusal('tenant', tl.tokensPerMinute, tenant.rates, tokens, now) ??
      (key && tokenRefusal('API key', key.limits.tokensPerMinute, key.rates, tokens, now));
    if (refusal) throw refusal;

    const tokenCounters = user ? [tTokens, user.tokens] : [tTokens];
    const messageCounters = [tMessages, user?.messages ?? null].filter((c): c is Counter => c !== null);
    for (const c of tokenCounters) c.reserved += tokens;
    for (const c of messageCounters) c.reserved += 1;
    const rates = key ? [tenant.rates, key.rates] : [tenant.rates];
    const held = rates.map((r) => {
      r.tokensInFlight += tokens;
      return { rates: r, request: r.requests.add(now, 1) };
    });
    return new Hold(tokens, tokenCounters, messageCounters, held, this.now);
  }

  /**
   * Where a tenant stands against each limit (for `/usage` and the console); with `userId`
   * and `apiKeyId`, that user's caps and that key's rates too.
   */
  snapshot(tenantId: string, opts: { userId?: string | null; apiKeyId?: string | null } = {}): LimitsSnapshot {
    const now = this.now();
    const tl = this.store.tenant(tenantId);
    const tenant = this.tenantState(tenantId);
    const userId = opts.userId ?? null;
    const apiKeyId = opts.apiKeyId ?? null;
    let user: LimitsSnapshot['user'] = null;
    if (userId !== null) {
      const ul = this.store.user(tenantId, userId);
      const account = this.userAccount(tenant, userId);
      user = {
        userId,
        monthlyTokens: periodUsage(ul.monthlyTokenCap, this.monthTokens(account, tenantId, userId, now)),
        messagesToday: periodUsage(ul.messagesPerDay, this.dayMessages(account, tenantId, userId, now)),
      };
    }
    let apiKey: LimitsSnapshot['apiKey'] = null;
    if (apiKeyId !== null) {
      const kl = this.store.key(tenantId, apiKeyId);
      const rates = this.keyRates(apiKeyId);
      apiKey = {
        apiKeyId,
        requestsPerMinute: rateUsage(kl.requestsPerMinute, rates.requests.total(now), 0),
        tokensPerMinute: rateUsage(kl.tokensPerMinute, rates.tokens.total(now), rates.tokensInFlight),
      };
    }
    return {
      tenantId,
      at: now,
      monthlyTokens: periodUsage(tl.monthlyTokenBudget, this.monthTokens(tenant.account, tenantId, null, now)),
      messagesToday: periodUsage(tl.messagesPerDay, this.dayMessages(tenant.account, tenantId, null, now)),
      requestsPerMinute: rateUsage(tl.requestsPerMinute, tenant.rates.requests.total(now), 0),
      tokensPerMinute: rateUsage(tl.tokensPerMinute, tenant.rates.tokens.total(now), tenant.rates.tokensInFlight),
      user,
      apiKey,
    };
  }

  /** Forgets cached limit values, so a change made in this process applies to the next request. */
  invalidate(): void {
    this.store.invalidate();
  }

  private tenantState(tenantId: string): TenantState {
    let s = this.tenants.get(tenantId);
    if (!s) {
      s = { account: newAccount(), rates: newRates(), users: new Map() };
      this.tenants.set(tenantId, s);
    }
    return s;
  }

  private userAccount(tenant: TenantState, userId: string): Account {
    let a = tenant.users.get(userId);
    if (!a) {
      a = newAccount();
      tenant.users.set(userId, a);
    }
    return a;
  }

  private keyRates(apiKeyId: string): Rates {
    let r = this.keys.get(apiKeyId);
    if (!r) {
      r = newRates();
      this.keys.set(apiKeyId, r);
    }
    return r;
  }

  /**
   * This month's token counter, started from the ledger's rollups when the month (or this
   * process) is new. A counter of a past month lives on only in the holds made against it,
   * so requests that straddle midnight settle into the month they started in, as the
   * ledger books them.
   */
  private monthTokens(account: Account, tenantId: string, userId: string | null, now: number): Counter {
    const month = monthOf(now);
    if (account.tokens?.period.key !== month.key) {
      account.tokens = { period: month, used: this.store.tokensUsed(tenantId, userId, month), reserved: 0 };
    }
    return account.tokens;
  }

  /** Today's message counter, started from the ledger like `monthTokens`. */
  private dayMessages(account: Account, tenantId: string, userId: string | null, now: number): Counter {
    const day = dayOf(now);
    if (account.messages?.period.key !== day.key) {
      account.messages = { period: day, used: this.store.messagesSent(tenantId, userId, day), reserved: 0 };
    }
    return account.messages;
  }
}

const at = (c: Counter) => ({ used: c.used, reserved: c.reserved, resetsAt: c.period.end });

function requestRefusal(scope: RateScope, limit: number | null, rates: Rates, now: number): LimitError | null {
  if (limit === null) return null;
  const excess = rates.requests.total(now) + 1 - limit;
  if (excess <= 0) return null;
  // Every admitted request is in the window, so expiring enough of them always makes room
  // (a limit of 0 never does: then a full minute is the honest answer).
  return requestRateRefusal(scope, limit, rates.requests.waitToFree(excess, now) ?? 60_000);
}

function tokenRefusal(
  scope: RateScope,
  limit: number | null,
  rates: Rates,
  want: number,
  now: number,
): LimitError | null {
  if (limit === null) return null;
  const settled = rates.tokens.total(now);
  const excess = settled + rates.tokensInFlight + want - limit;
  if (excess <= 0) return null;
  if (want > limit) return tokenRateRefusal(scope, limit, want, Number.POSITIVE_INFINITY);
  // Room held by requests in progress comes back when they settle: no time can be promised.
  return tokenRateRefusal(scope, limit, want, rates.tokens.waitToFree(excess, now));
}

function periodUsage(limit: number | null, c: Counter): PeriodUsage {
  return {
    limit,
    used: c.used,
    reserved: c.reserved,
    remaining: limit === null ? null : Math.max(0, limit - c.used - c.reserved),
    resetsAt: c.period.end,
  };
}

function rateUsage(limit: number | null, used: number, reserved: number): RateUsage {
  return { limit, used, reserved, remaining: limit === null ? null : Math.max(0, limit - used - reserved) };
}
