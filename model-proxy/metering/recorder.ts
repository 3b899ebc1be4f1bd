import type { UsageStatus } from '../../core/db/schema.js';
import type { Logger } from '../../core/logger.js';
import type { UsageLedger } from '../../core/usage/ledger.js';
import type { Caller } from '../caller.js';
import type { MeterResult } from './ndjson-meter.js';

/** What is known of a request when it is metered. */
export interface MeteredRequest {
  requestId: string;
  caller: Caller;
  model: string;
  endpoint: string;
  backend: string | null;
  startedAt: number;
}

/**
 * Writes the one ledger row of a request. Called exactly once per forwarded request,
 * whatever way it ended; a failure to write is logged, never thrown at the client.
 */
export function recordUsage(
  ledger: UsageLedger,
  log: Logger,
  req: MeteredRequest,
  status: UsageStatus,
  counts: Pick<MeterResult, 'promptTokens' | 'completionTokens' | 'exact'>,
  error: string | null = null,
  costMicros = 0,
): void {
  try {
    ledger.queue({
      requestId: req.requestId,
      tenantId: req.caller.tenant.id,
      userId: req.caller.userId,
      apiKeyId: req.caller.apiKeyId,
      model: req.model,
      endpoint: req.endpoint,
      promptTokens: counts.promptTokens,
      completionTokens: counts.completionTokens,
      status,
      error,
      backend: req.backend,
      startedAt: req.startedAt,
      durationMs: Date.now() - req.startedAt,
      costMicros,
      exact: counts.exact,
    });
  } catch (err) {
    log.error({ err, requestId: req.requestId }, 'could not write the usage ledger row');
  }
}

/** Counts of a request that produced nothing (refused or unreachable backend). */
export const NO_TOKENS = { promptTokens: 0, completionTokens: 0, exact: true } as const;
