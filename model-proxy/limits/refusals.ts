import { LimitError } from '../../core/errors.js';
import { countOf, formatCount, formatUtc, secondsUntil } from './periods.js';
import { WINDOW_MS } from './window.js';

/**
 * `Retry-After` when a limit is held by requests still in progress: room comes back when
 * they settle, which is usually seconds away but cannot be known.
 */
export const BUSY_RETRY_SECONDS = 5;

/** A monthly or daily limit: what it is called and its stable error code. */
export interface PeriodLimitKind {
  code: string;
  /** "monthly token budget of 2,000,000 tokens", "daily limit of 100 messages for this user". */
  name(limit: number): string;
  /** "this month": said when a request does not fit what is left. */
  left: string;
}

/** The tenant's monthly token budget. */
export const TENANT_BUDGET: PeriodLimitKind = {
  code: 'monthly_token_budget',
  name: (n) => `monthly token budget of ${countOf(n, 'token')}`,
  left: 'this month',
};

/** A user's own monthly token cap. */
export const USER_TOKEN_CAP: PeriodLimitKind = {
  code: 'user_monthly_token_cap',
  name: (n) => `monthly token cap of ${countOf(n, 'token')} for this user`,
  left: 'this month',
};

/** The tenant's messages per day. */
export const TENANT_MESSAGES: PeriodLimitKind = {
  code: 'messages_per_day',
  name: (n) => `daily limit of ${countOf(n, 'message')} for this tenant`,
  left: 'today',
};

/** A user's own messages per day. */
export const USER_MESSAGES: PeriodLimitKind = {
  code: 'user_messages_per_day',
  name: (n) => `daily limit of ${countOf(n, 'message')} for this user`,
  left: 'today',
};

/** What a period counter holds when a request asks for `want` more. */
export interface PeriodState {
  used: number;
  reserved: number;
  /** When the period ends and the counter resets. */
  resetsAt: number;
}

/**
 * Why a request does not fit a monthly or daily limit, or null when it fits: reached (wait
 * for the reset), too large for what is left (wait for the reset or ask for less), or held
 * by requests in progress (retry shortly).
 */
export function periodRefusal(
  kind: PeriodLimitKind,
  limit: number | null,
  s: PeriodState,
  want: number,
  now: number,
): LimitError | null {
  if (limit === null) return null;
  const held = s.used + s.reserved;
  if (held + want <= limit && held < limit) return null;
  const name = kind.name(limit);
  const reset = `resets ${formatUtc(s.resetsAt)}`;
  const untilReset = secondsUntil(s.resetsAt, now);
  if (s.used >= limit) return new LimitError(`${name} reached; ${reset}`, untilReset, kind.code);
  if (s.used + want > limit) {
    const left = formatCount(limit - s.used);
    return new LimitError(
      `${name}: ${left} left ${kind.left}, and this request may use up to ${formatCount(want)}; ${reset}`,
      untilReset,
      kind.code,
    );
  }
  return new LimitError(
    `${name} is held by requests in progress; retry in ${BUSY_RETRY_SECONDS} s`,
    BUSY_RETRY_SECONDS,
    kind.code,
  );
}

/** Whose per-minute limit it is, as the message says it. */
export type RateScope = 'tenant' | 'API key';

const rateCode = (scope: RateScope, what: 'requests' | 'tokens'): string =>
  `${scope === 'tenant' ? '' : 'api_key_'}${what}_per_minute`;

/** Refuses a request over a requests-per-minute limit; `waitMs` until the oldest one expires. */
export function requestRateRefusal(scope: RateScope, limit: number, waitMs: number): LimitError {
  const s = Math.max(1, Math.ceil(waitMs / 1000));
  return new LimitError(
    `${countOf(limit, 'request')} per minute for this ${scope}; retry in ${s} s`,
    s,
    rateCode(scope, 'requests'),
  );
}

/**
 * Refuses a request over a tokens-per-minute limit. `waitMs` is null when the minute's room
 * is held by requests in progress, Infinity when the request alone is larger than the limit.
 */
export function tokenRateRefusal(scope: RateScope, limit: number, want: number, waitMs: number | null): LimitError {
  const code = rateCode(scope, 'tokens');
  if (waitMs === Number.POSITIVE_INFINITY) {
    return new LimitError(
      `this request may use up to ${countOf(want, 'token')}, more than the ${countOf(limit, 'token')} per minute allowed for this ${scope}; ask for fewer tokens`,
      WINDOW_MS / 1000,
      code,
    );
  }
  const s = waitMs === null ? BUSY_RETRY_SECONDS : Math.max(1, Math.ceil(waitMs / 1000));
  return new LimitError(`${countOf(limit, 'token')} per minute for this ${scope}; retry in ${s} s`, s, code);
}
