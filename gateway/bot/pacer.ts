/**
 * Paces the bot's messages and edits in one chat, to stay inside Telegram's limits for
 * groups: at most one call a second and fewer than 20 a minute per chat. Streaming asks
 * `tryTake` (and skips a frame when it is too early); the final answer waits in `acquire`.
 */
export class ChatPacer {
  private readonly log = new Map<number, number[]>();
  private lastSweep = 0;

  constructor(
    private readonly minGapMs = 1_000,
    private readonly perMinute = 19,
  ) {}

  /** Milliseconds until a call may be made in the chat; 0 when it may be made now. */
  wait(chatId: number, now = Date.now()): number {
    const times = this.recent(chatId, now);
    let wait = 0;
    const last = times.at(-1);
    if (last !== undefined) wait = Math.max(wait, last + this.minGapMs - now);
    if (times.length >= this.perMinute) {
      wait = Math.max(wait, (times[times.length - this.perMinute] as number) + 60_000 - now);
    }
    return Math.max(0, wait);
  }

  /** Takes a slot when one is free now; returns whether it did. */
  tryTake(chatId: number, now = Date.now()): boolean {
    if (this.wait(chatId, now) > 0) return false;
    this.take(chatId, now);
    return true;
  }

  /** Waits for a free slot and takes it. */
  async acquire(chatId: number): Promise<void> {
    for (;;) {
      const wait = this.wait(chatId);
      if (wait === 0) {
        this.take(chatId, Date.now());
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * Moves the chat's latest slot to now: called when a call has been answered, so the gap
   * to the next call counts from when Telegram saw this one, not from when it was sent.
   */
  settle(chatId: number, now = Date.now()): void {
    const times = this.log.get(chatId);
    if (times && times.length > 0) times[times.length - 1] = now;
  }

  /** Chats with a call in the last minute (others are forgotten, at the latest a minute on). */
  get size(): number {
    return this.log.size;
  }

  private take(chatId: number, now: number): void {
    const times = this.recent(chatId, now);
    times.push(now);
    this.log.set(chatId, times);
    // A chat answered once is not asked about again: forget such chats once a minute, or
    // every chat the bot ever answered by edits would stay here for the life of the process.
    if (now - this.lastSweep >= 60_000) {
      this.lastSweep = now;
      for (const [chat, calls] of this.log) if ((calls.at(-1) ?? 0) <= now - 60_000) this.log.delete(chat);
    }
  }

  /** The chat's calls of the last minute; chats with none are forgotten. */
  private recent(chatId: number, now: number): number[] {
    const times = (this.log.get(chatId) ?? []).filter((t) => t > now - 60_000);
    if (times.length === 0) this.log.delete(chatId);
    else this.log.set(chatId, times);
    return times;
  }
}
