import type { Db } from '../../core/db/index.js';

/** How long writes keep being retried while another process holds SQLite's write lock. */
const GIVE_UP_AFTER_MS = 10_000;
/** Longest pause between two tries. */
const MAX_RETRY_DELAY_MS = 16;

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

interface QueuedWrite {
  fn: () => unknown;
  resolve: (value: never) => void;
  reject: (err: unknown) => void;
}

/**
 * The gateway's per-message writes (conversation and message rows), committed together:
 * every write queued during one turn of the event loop goes into one short `BEGIN IMMEDIATE`
 * transaction, each write in its own savepoint (one failing write is rejected alone).
 *
 * The model proxy writes the same SQLite file from another process. A write that found the
 * lock taken would wait in SQLite's busy handler, which sleeps on the event loop's thread
 * and stalls every bot of the process; here the lock is tried without waiting
 * (`busy_timeout = 0` around `BEGIN`) and a busy batch is tried again a few milliseconds
 * later from a timer, for up to ten seconds.
 */
export class WriteQueue {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private retryDelayMs = 0;
  private busySince = 0;
  /** The batch's transaction and each write's savepoint (better-sqlite3 nests them), made once. */
  private readonly batchTx: (batch: QueuedWrite[], outcomes: Outcome[]) => void;
  private readonly savepoint: (fn: () => unknown) => unknown;
  private readonly busyTimeoutMs: number;

  constructor(private readonly db: Db) {
    this.busyTimeoutMs = Number(db.sqlite.pragma('busy_timeout', { simple: true }));
    this.savepoint = db.sqlite.transaction((fn: () => unknown) => fn());
    const tx = db.sqlite.transaction((batch: QueuedWrite[], outcomes: Outcome[]) => {
      for (const w of batch) {
        try {
          outcomes.push({ ok: true, value: this.savepoint(w.fn) });
        } catch (err) {
          outcomes.push({ ok: false, err });
        }
      }
    });
    this.batchTx = tx.immediate;
  }

  /** Queues synchronous database work; resolves with its result once committed. */
  write<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: never) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    if (this.retryDelayMs > 0) setTimeout(run, this.retryDelayMs);
    else setImmediate(run);
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (!this.db.sqlite.open) {
      for (const w of batch) w.reject(new Error('the database was closed before the write'));
      return;
    }
    const outcomes: Outcome[] = [];
    try {
      this.withoutWaiting(() => this.batchTx(batch, outcomes));
    } catch (err) {
      if (isBusy(err) && this.keepTrying()) {
        this.queue = batch.concat(this.queue);
        this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, Math.max(1, this.retryDelayMs * 2));
        this.schedule();
        return;
      }
      for (const w of batch) w.reject(err);
      this.settled();
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) w.resolve(outcome.value as never);
      else w.reject(outcome?.err);
    });
    this.settled();
  }

  /** Runs `fn` with SQLite's busy handler off: a taken lock fails at once with SQLITE_BUSY. */
  private withoutWaiting(fn: () => void): void {
    // Not a cached statement: SQLite applies this pragma when it is prepared, not when run.
    this.db.sqlite.pragma('busy_timeout = 0');
    try {
      fn();
    } finally {
      this.db.sqlite.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  private keepTrying(): boolean {
    if (this.busySince === 0) this.busySince = Date.now();
    return Date.now() - this.busySince < GIVE_UP_AFTER_MS;
  }

  private settled(): void {
    this.busySince = 0;
    this.retryDelayMs = 0;
    if (this.queue.length > 0) this.schedule();
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
