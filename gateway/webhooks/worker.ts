import type { Update } from 'grammy/types';
import type { Db } from '../../core/db/index.js';
import type { Logger } from '../../core/logger.js';
import { MAX_ATTEMPTS, markFailed, markProcessed, type PendingUpdate, pendingUpdates, startAttempt } from './store.js';

/** What processes one update: a grammY bot (`bot.handleUpdate`). */
export interface UpdateHandler {
  handleUpdate(update: Update): Promise<void>;
}

/** Options of the update worker. */
export interface UpdateWorkerOptions {
  /** Updates processed at once across all bots (default 256). */
  concurrency?: number;
  /** Delay before attempt `n + 1` after attempt `n` failed (default 2 s, doubling). */
  retryDelayMs?: (attempt: number) => number;
}

/** One attached bot's queue: the stored updates of one `bot_id`. */
interface Lane {
  botId: string;
  handler: UpdateHandler;
  /** The last stored id handed to the bot; the next pull starts after it. */
  cursor: number;
  pulling: boolean;
  /** An update was stored while pulling: pull once more. */
  again: boolean;
  /** Detaching: no new update is started. */
  closing: boolean;
  /** Detached: outcomes of updates still running are no longer recorded. */
  stopped: boolean;
  inflight: Set<Promise<void>>;
  retries: Set<NodeJS.Timeout>;
}

/**
 * Processes the updates the webhook route stored, after Telegram got its 200. The database
 * is the queue: each bot's updates are handed to the bot in arrival order (the bot's own
 * `sequentialize` then keeps one chat's updates in order, exactly as with long polling),
 * each attempt is counted before it starts, a failed update is retried after a delay up to
 * MAX_ATTEMPTS, and an update that is unfinished when the gateway stops is still unprocessed
 * in the table, so the next start processes it.
 */
export class UpdateWorker {
  private readonly lanes = new Map<string, Lane>();
  private readonly concurrency: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    opts: UpdateWorkerOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 256;
    this.retryDelayMs = opts.retryDelayMs ?? ((n) => Math.min(60_000, 2_000 * 2 ** (n - 1)));
  }

  /**
   * Starts handing a bot's stored updates to `handler`: first everything left unprocessed
   * (by an earlier run of the gateway, too), then whatever the route stores.
   */
  attach(botId: string, handler: UpdateHandler): void {
    if (this.lanes.has(botId)) throw new Error(`updates of bot ${botId} already have a handler`);
    const lane: Lane = {
      botId,
      handler,
      cursor: 0,
      pulling: false,
      again: false,
      closing: false,
      stopped: false,
      inflight: new Set(),
      retries: new Set(),
    };
    this.lanes.set(botId, lane);
    void this.pull(lane);
  }

  /** Tells the worker that an update of `botId` was stored (a no-op while the bot is not running). */
  notify(botId: string): void {
    const lane = this.lanes.get(botId);
    if (lane && !lane.closing) void this.pull(lane);
  }

  /**
   * Stops taking a bot's updates and waits (at most `graceMs`) for those being processed.
   * Whatever is unfinished then stays unprocessed in the table for the next start.
   */
  async detach(botId: string, graceMs: number): Promise<void> {
    const lane = this.lanes.get(botId);
    if (!lane) return;
    lane.closing = true;
    for (const t of lane.retries) clearTimeout(t);
    lane.retries.clear();
    if (lane.inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...lane.inflight]),
        new Promise((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    lane.stopped = true;
    this.lanes.delete(botId);
  }

  /** Updates being processed now, across all bots. */
  get active(): number {
    return this.running;
  }

  /** Hands the lane's next stored updates to its bot, in order, while there are any. */
  private async pull(lane: Lane): Promise<void> {
    if (lane.pulling) {
      lane.again = true;
      return;
    }
    lane.pulling = true;
    try {
      do {
        lane.again = false;
        for (;;) {
          const rows = pendingUpdates(this.db, lane.botId, lane.cursor);
          if (rows.length === 0) break;
          for (const row of rows) {
            const wait = this.acquire();
            if (wait) await wait;
            if (lane.closing) {
              this.release();
              return;
            }
            lane.cursor = row.id;
            this.dispatch(lane, row);
          }
        }
      } while (lane.again && !lane.closing);
    } catch (err) {
      this.logger.error({ err, botId: lane.botId }, 'reading stored telegram updates failed');
    } finally {
      lane.pulling = false;
    }
  }

  /** Starts one attempt (a slot is already taken) and records its outcome. */
  private dispatch(lane: Lane, row: PendingUpdate): void {
    let attempt: number;
    let update: Update;
    try {
      attempt = startAttempt(this.db, row.id);
      update = JSON.parse(row.payload) as Update;
    } catch (err) {
      this.release();
      this.logger.error({ err, botId: lane.botId, updateId: row.update_id }, 'stored telegram update unreadable');
      try {
        markFailed(this.db, row.id, `unreadable: ${(err as Error).message}`, true);
      } catch {
        // The database itself failed; the row stays and is retried at the next start.
      }
      return;
    }
    const task = lane.handler
      .handleUpdate(update)
      .then(
        () => {
          if (!lane.stopped) markProcessed(this.db, row.id);
        },
        (err: unknown) => {
          if (lane.stopped) return;
          const giveUp = attempt >= MAX_ATTEMPTS;
          const message = describe(err);
          markFailed(this.db, row.id, message, giveUp);
          this.logger.error(
            { err, botId: lane.botId, updateId: row.update_id, attempt },
            giveUp ? 'telegram update failed; giving up' : 'telegram update failed; will retry',
          );
          if (!giveUp) this.scheduleRetry(lane, row, attempt);
        },
      )
      .catch((err: unknown) => {
        this.logger.error({ err, botId: lane.botId, updateId: row.update_id }, 'recording a telegram update failed');
      })
      .finally(() => {
        lane.inflight.delete(task);
        this.release();
      });
    lane.inflight.add(task);
  }

  private scheduleRetry(lane: Lane, row: PendingUpdate, attempt: number): void {
    const timer = setTimeout(async () => {
      lane.retries.delete(timer);
      if (lane.closing) return;
      const wait = this.acquire();
      if (wait) await wait;
      if (lane.closing) return this.release();
      this.dispatch(lane, { ...row, attempts: attempt });
    }, this.retryDelayMs(attempt));
    lane.retries.add(timer);
  }

  /** Takes a processing slot; returns a promise to await only when none is free. */
  private acquire(): Promise<void> | undefined {
    if (this.running < this.concurrency) {
      this.running++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Frees a slot, handing it straight to the next waiter if there is one. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

/** A short, loggable description of why processing failed. */
function describe(err: unknown): string {
  const e = err as { error?: unknown; message?: string };
  // grammY wraps middleware errors in BotError; the cause is more useful than the wrapper.
  const inner = e?.error instanceof Error ? e.error : err;
  return inner instanceof Error ? `${inner.name}: ${inner.message}` : String(inner);
}
