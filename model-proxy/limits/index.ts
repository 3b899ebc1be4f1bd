export { Limits } from './limits.js';
export { BUSY_RETRY_SECONDS } from './refusals.js';
export { LIMIT_CACHE_MS } from './store.js';
export type {
  LimitSubject,
  LimitsOptions,
  LimitsSnapshot,
  LimitWant,
  PeriodUsage,
  RateUsage,
  Reservation,
} from './types.js';
