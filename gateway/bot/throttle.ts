import type { Transformer } from 'grammy';

/** Telegram's documented pace for one bot: about 30 messages a second across all chats. */
export const TELEGRAM_SENDS_PER_SECOND = 30;

/**
 * The calls that count against a bot's limit: everything that writes into a chat. Reads
 * (`getUpdates`, `getMe`, `getFile`, …) and bot settings are not paced.
 */
const PACED = /^(send|edit|copy|forward|delete(Message|Messages)$|answerCallbackQuery$|pin|unpin|stopPoll$)/;

interface Waiter {
  resolve(done: () => void): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * One per bot token: at most `perSecond` writes by the bot within any one second, and when
 * Telegram answers one call with 429, no write of that bot until `retry_after` has passed,
 * since Telegram's flood limit is per bot. Waiting calls go first come, first served. Other
 * bots have their own throttle, so one busy tenant's bot never slows another's.
 *
 * A write holds its place in the second from when it starts until a second after Telegram
 * answered it. Telegram received it somewhere in between, so however the network delays
 * each call, Telegram never sees more than `perSecond` of them within a second.
 *
 * Calls that may be skipped (streaming frames, the typing indicator) ask `hasRoom` first:
 * they go only while nothing waits and more than a third of the second's budget is left
 * (rounded down, so a bot limited to 1 or 2 a second still shows them when idle), which
 * keeps that third for final answers.
 */
export class BotThrottle {
  /** Writes started and not yet answered. */
  private inflight = 0;
  /** When the writes answered within the last second were answered, oldest first. */
  private readonly answered: number[] = [];
  private pausedUntil = 0;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly perSecond = TELEGRAM_SENDS_PER_SECOND,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perSecond > 0)) throw new Error(`perSecond must be positive, got ${perSecond}`);
  }

  /** Whether a call that may be skipped should go now (see the class comment). */
  hasRoom(): boolean {
    return this.waiting.length === 0 && this.pausedFor() === 0 && this.left() >= 1 + Math.floor(this.perSecond / 3);
  }

  /**
   * Waits for the bot's turn to write and takes it; resolves with the function to call when
   * Telegram has answered (or the call failed). `signal` gives up waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.waiting.length === 0 && this.pausedFor() === 0 && this.left() >= 1) {
      return Promise.resolve(this.take());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiting.indexOf(waiter);
          if (i !== -1) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
      this.schedule();
    });
  }

  /** Telegram refused a call with 429: no write of this bot goes before `retryAfterSeconds`. */
  pause(retryAfterSeconds: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + retryAfterSeconds * 1_000);
    if (this.waiting.length > 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.schedule();
    }
  }

  /** Milliseconds left of a pause after a 429; 0 when the bot may write. */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Calls waiting for their turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * The grammY API transformer: paces the writes and learns of 429s. Install it before
   * auto-retry, so that retries are paced too (grammY runs the last installed first).
   */
  transformer(): Transformer {
    return async (prev, method, payload, signal) => {
      if (!PACED.test(method)) return prev(method, payload, signal);
      const done = await this.acquire(signal as AbortSignal | undefined);
      try {
        const res = await prev(method, payload, signal);
        if (!res.ok && res.error_code === 429) this.pause(res.parameters?.retry_after ?? 1);
        return res;
      } finally {
        done();
      }
    };
  }

  /** Takes a place in the second; the returned function marks the write answered (once). */
  private take(): () => void {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inflight--;
      this.answered.push(this.now());
      // With every place taken by writes in flight, no timer could be set: set it now.
      if (this.waiting.length > 0) this.schedule();
    };
  }

  /** Places left in the second now. */
  private left(): number {
    const since = this.now() - 1_000;
    let old = 0;
    while (old < this.answered.length && (this.answered[old] as number) <= since) old++;
    if (old > 0) this.answered.splice(0, old);
    return this.perSecond - this.inflight - this.answered.length;
  }

  /** Lets waiters go while there is room; sets a timer for the rest. */
  private release(): void {
    this.timer = undefined;
    while (this.waiting.length > 0 && this.pausedFor() === 0 && this.left() >= 1) {
      const waiter = this.waiting.shift() as Waiter;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.take());
    }
    if (this.waiting.length > 0) this.schedule();
  }

  /**
   * A timer for when the next waiter may go: the pause's end, or the oldest answered write
   * leaving the second. With every place in flight there is no such time yet; the first
   * answer sets the timer.
   */
  private schedule(): void {
    if (this.timer) return;
    const now = this.now();
    let free = now;
    if (this.left() < 1) {
      const oldest = this.answered[0];
      if (oldest === undefined) return;
      free = oldest + 1_000;
    }
    const at = Math.max(this.pausedUntil, free);
    this.timer = setTimeout(() => this.release(), Math.max(0, at - now));
    this.timer.unref?.();
  }
}
