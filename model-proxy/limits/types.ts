/** Who a request is for, as the proxy resolved it. */
export interface LimitSubject {
  tenantId: string;
  /** The tenant user the gateway named, if any. */
  userId: string | null;
  /** The API key used, if any. */
  apiKeyId: string | null;
  /** The proxy endpoint ("/api/chat", "/v1/embeddings", …); `MESSAGE_ENDPOINTS` count as messages. */
  endpoint: string;
}

/** What a request may use at most. */
export interface LimitWant {
  /** Worst case: the prompt estimate plus the most the model may generate. */
  tokens: number;
}

/**
 * An admitted request's hold on its limits. Exactly one of `settle` and `cancel` takes
 * effect; later calls of either are ignored.
 */
export interface Reservation {
  /** The tokens held (the worst case asked for). */
  readonly tokens: number;
  /**
   * The request ran (its ledger row is written): releases the hold and counts the actual
   * tokens and the message. Actual tokens above the hold are counted in full.
   */
  settle(actualTokens: number): void;
  /** The request never reached the model (no ledger row): gives everything back. */
  cancel(): void;
}

/** Options of `Limits`. */
export interface LimitsOptions {
  /** The clock (epoch ms); tests inject one. */
  now?: () => number;
  /** How long limit values read from the database are trusted (default `LIMIT_CACHE_MS`). */
  cacheMs?: number;
  /** Endpoints whose requests count as messages (default `MESSAGE_ENDPOINTS`). */
  messageEndpoints?: readonly string[];
  /**
   * Called before usage is read from the ledger, so rows still queued in memory
   * (UsageLedger.queue) are counted: the proxy passes its ledger's `flush`.
   */
  beforeUsageRead?: () => void;
}

/** Used and held amounts of one limit in one UTC month or day. */
export interface PeriodUsage {
  limit: number | null;
  used: number;
  reserved: number;
  /** What is left for new requests; null when unlimited. */
  remaining: number | null;
  resetsAt: number;
}

/** Use of a per-minute limit over the last 60 s; `reserved` is held by requests in progress. */
export interface RateUsage {
  limit: number | null;
  used: number;
  reserved: number;
  remaining: number | null;
}

/** Where a tenant (and optionally one user and one key) stands against every limit. */
export interface LimitsSnapshot {
  tenantId: string;
  at: number;
  monthlyTokens: PeriodUsage;
  messagesToday: PeriodUsage;
  requestsPerMinute: RateUsage;
  tokensPerMinute: RateUsage;
  user: { userId: string; monthlyTokens: PeriodUsage; messagesToday: PeriodUsage } | null;
  apiKey: { apiKeyId: string; requestsPerMinute: RateUsage; tokensPerMinute: RateUsage } | null;
}
