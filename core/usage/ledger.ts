import type { Statement } from 'better-sqlite3';
import type { Db } from '../db/index.js';
import type { UsageStatus } from '../db/schema.js';

/** One metered model request, as the model proxy records it. */
export interface UsageRecord {
  requestId: string;
  tenantId: string;
  userId: string | null;
  apiKeyId: string | null;
  model: string;
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  status: UsageStatus;
  error?: string | null;
  backend: string | null;
  startedAt: number;
  durationMs: number;
  costMicros: number;
  /** False when the counts are estimated (the backend did not report them). */
  exact: boolean;
}

/** UTC day of an epoch-ms time, as YYYY-MM-DD. */
export function utcDay(ms: number): string {
  if (ms >= lastDay.start && ms < lastDay.start + DAY_MS) return lastDay.key;
  const key = new Date(ms).toISOString().slice(0, 10);
  lastDay = { start: ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS), key };
  return key;
}

const DAY_MS = 86_400_000;
/** The day utcDay computed last: every request of a day asks for the same one. */
let lastDay = { start: Number.NaN, key: '' };

/**
 * Writes ledger rows. Each row and its daily rollup commit in one transaction, so
 * dashboards read rollups and never scan the ledger. Statements are prepared once:
 * this runs on every model request.
 *
 * The model proxy queues its rows (`queue`): the rows of one event-loop turn commit
 * together right after it, one transaction instead of one per request. A crash loses at
 * most that turn's rows, as it loses the proxy's in-memory reservations anyway.
 */
export class UsageLedger {
  private readonly insertRow: Statement;
  private readonly upsertDay: Statement;
  private readonly writeRows: (rows: readonly UsageRecord[]) => void;
  private pending: UsageRecord[] = [];

  /** @param onFlushError told when queued rows could not be written (they are lost). */
  constructor(
    db: Db,
    private readonly onFlushError: (err: unknown, rows: readonly UsageRecord[]) => void = (err) => {
      throw err;
    },
  ) {
    this.insertRow = db.sqlite.prepare(
      `INSERT INTO usage_ledger (request_id, tenant_id, user_id, api_key_id, model, endpoint,
         prompt_tokens, completion_tokens, status, error, backend, started_at, duration_ms, cost_micros, exact)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertDay = db.sqlite.prepare(
      `INSERT INTO usage_daily (tenant_id, day, user_id, model, requests, prompt_tokens, completion_tokens, cost_micros)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, day, user_id, model) DO UPDATE SET
         requests = requests + excluded.requests,
         prompt_tokens = prompt_tokens + excluded.prompt_tokens,
         completion_tokens = completion_tokens + excluded.completion_tokens,
         cost_micros = cost_micros + excluded.cost_micros`,
    );
    this.writeRows = db.sqlite.transaction((rows: readonly UsageRecord[]) => {
      // Positional parameters: binding by name costs an object and a lookup per value.
      for (const r of rows) {
        this.insertRow.run(
          r.requestId,
          r.tenantId,
          r.userId,
          r.apiKeyId,
          r.model,
          r.endpoint,
          r.promptTokens,
          r.completionTokens,
          r.status,
          r.error ?? null,
          r.backend,
          r.startedAt,
          r.durationMs,
          r.costMicros,
          r.exact ? 1 : 0,
        );
      }
      for (const d of rollups(rows)) {
        this.upsertDay.run(
          d.tenantId,
          d.day,
          d.userKey,
          d.model,
          d.requests,
          d.promptTokens,
          d.completionTokens,
          d.costMicros,
        );
      }
    });
  }

  /** Records one request now: the ledger row and the rollup, atomically. */
  record(r: UsageRecord): void {
    this.writeRows([r]);
  }

  /** Queues one request's row; the rows queued in this event-loop turn commit together after it. */
  queue(r: UsageRecord): void {
    this.pending.push(r);
    if (this.pending.length === 1) setImmediate(this.flushQueued);
  }

  /** Commits the queued rows now (before reading what the ledger holds, and on shutdown). */
  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.writeRows(rows);
    } catch (err) {
      this.onFlushError(err, rows);
    }
  }

  private readonly flushQueued = () => this.flush();
}

/** One daily rollup's increment. */
interface DayIncrement {
  tenantId: string;
  day: string;
  userKey: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

/** The rollup increments of a batch of rows: one per tenant, day, user and model. */
function rollups(rows: readonly UsageRecord[]): Iterable<DayIncrement> {
  const sums = new Map<string, DayIncrement>();
  for (const r of rows) {
    const day = utcDay(r.startedAt);
    const userKey = r.userId ?? '';
    const key = `${r.tenantId}\u0000${day}\u0000${userKey}\u0000${r.model}`;
    const sum = sums.get(key);
    if (sum) {
      sum.requests++;
      sum.promptTokens += r.promptTokens;
      sum.completionTokens += r.completionTokens;
      sum.costMicros += r.costMicros;
    } else {
      sums.set(key, {
        tenantId: r.tenantId,
        day,
        userKey,
        model: r.model,
        requests: 1,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        costMicros: r.costMicros,
      });
    }
  }
  return sums.values();
}

/** Usage of one tenant over a range of UTC days: totals and one row per model. */
export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  totals: UsageTotals;
  byModel: (UsageTotals & { model: string })[];
}

/** Summed counters. */
export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
}

/** Reads a tenant's usage between two UTC days (inclusive) from the daily rollups. */
export async function usageReport(db: Db, tenantId: string, from: string, to: string): Promise<UsageReport> {
  const byModel = await db.kysely
    .selectFrom('usage_daily')
    .select((eb) => [
      'model',
      eb.fn.sum<number>('requests').as('requests'),
      eb.fn.sum<number>('prompt_tokens').as('prompt_tokens'),
      eb.fn.sum<number>('completion_tokens').as('completion_tokens'),
      eb.fn.sum<number>('cost_micros').as('cost_micros'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .groupBy('model')
    .orderBy('model')
    .execute();
  const totals: UsageTotals = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0 };
  for (const row of byModel) {
    totals.requests += row.requests;
    totals.prompt_tokens += row.prompt_tokens;
    totals.completion_tokens += row.completion_tokens;
    totals.cost_micros += row.cost_micros;
  }
  return { tenantId, from, to, totals, byModel };
}
