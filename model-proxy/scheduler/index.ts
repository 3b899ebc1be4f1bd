export { DeficitRoundRobin } from './drr.js';
export { type AcquireRequest, FairScheduler, type FairSchedulerOptions, type Lease } from './fair-scheduler.js';
export type { SchedulerStats, TenantSchedulerStats } from './stats.js';
