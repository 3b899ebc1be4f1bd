/** Limits of a `FailureThrottle`. */
export interface ThrottleOptions {
  /** Failures allowed per key within one window. */
  maxFailures: number;
  /** Length of the window in milliseconds, counted from the key's first failure. */
  windowMs: number;
  /** Keys kept at most; beyond it the oldest windows are dropped first. */
  maxKeys?: number;
}

/** The console's login limit: 10 failures per IP address and per e-mail in 15 minutes. */
export const LOGIN_THROTTLE: ThrottleOptions = { maxFailures: 10, windowMs: 15 * 60_000, maxKeys: 50_000 };

interface Window {
  failures: number;
  resetAt: number;
}

/**
 * Counts failures (wrong passwords) per key in fixed windows, in memory. A key that used up
 * its failures is blocked until its window ends. One process serves the console, so memory
 * is enough; a restart forgives everyone, which only helps legitimate users.
 */
export class FailureThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;

  constructor(private readonly opts: ThrottleOptions) {
    this.maxKeys = opts.maxKeys ?? 50_000;
  }

  /**
   * Seconds to wait before trying again when any of `keys` is blocked (the longest wait
   * among them), or 0 when all may try.
   */
  retryAfterSeconds(keys: readonly string[], at = Date.now()): number {
    let waitMs = 0;
    for (const key of keys) {
      const w = this.windows.get(key);
      if (!w) continue;
      if (w.resetAt <= at) {
        this.windows.delete(key);
        continue;
      }
      if (w.failures >= this.opts.maxFailures) waitMs = Math.max(waitMs, w.resetAt - at);
    }
    return Math.ceil(waitMs / 1000);
  }

  /** Counts one failure against each key. */
  fail(keys: readonly string[], at = Date.now()): void {
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w && w.resetAt > at) {
        w.failures += 1;
      } else {
        this.windows.delete(key); // re-inserted last, so Map order stays oldest-first
        this.windows.set(key, { failures: 1, resetAt: at + this.opts.windowMs });
      }
    }
    this.prune(at);
  }

  /** Forgets the failures of keys (after a successful login, for its e-mail). */
  forgive(keys: readonly string[]): void {
    for (const key of keys) this.windows.delete(key);
  }

  /** Drops ended windows, then the oldest ones while over the size bound. */
  private prune(at: number): void {
    if (this.windows.size <= this.maxKeys) return;
    for (const [key, w] of this.windows) {
      if (w.resetAt <= at) this.windows.delete(key);
    }
    for (const key of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
