/**
 * The per-bot throttle on a fake clock: a second's burst goes at once, then one write per
 * 1/perSecond; waiters go in order; a 429 holds every write of the bot; optional calls
 * (frames, typing) leave a third of the budget to the answers. Through the fake Bot API:
 * a bot stays under Telegram's flood limit, and one bot's 429 pauses only that bot.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot } from 'grammy';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BotThrottle } from '../../gateway/bot/throttle.js';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram.js';

describe('BotThrottle', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Acquires `n` turns and records when each was granted (ms after the start). */
  function grants(throttle: BotThrottle, n: number): number[] {
    const start = Date.now();
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      void throttle.acquire().then((done) => {
        done(); // Telegram answered at once
        at.push(Date.now() - start);
      });
    }
    return at;
  }

  it('lets a second’s worth go at once and the rest as earlier writes leave the second, in order', async () => {
    const throttle = new BotThrottle(10);
    const at = grants(throttle, 13);
    await vi.advanceTimersByTimeAsync(0);
    expect(at).toEqual(Array(10).fill(0));
    await vi.advanceTimersByTimeAsync(999);
    expect(at).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(1);
    expect(at.slice(10)).toEqual([1_000, 1_000, 1_000]);
  });

  it('holds every write after a 429 until retry_after has passed', async () => {
    const throttle = new BotThrottle(10);
    throttle.pause(2);
    expect(throttle.pausedFor()).toBe(2_000);
    const at = grants(throttle, 2);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(at).toEqual([]);
    expect(throttle.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(10);
    expect(at).toEqual([2_000, 2_000]);
    expect(throttle.pausedFor()).toBe(0);
  });

  it('gives up waiting when the signal aborts, and the next waiter takes the turn', async () => {
    const throttle = new BotThrottle(1);
    (await throttle.acquire())();
    const abort = new AbortController();
    const first = throttle.acquire(abort.signal);
    const second = throttle.acquire();
    abort.abort(new Error('answer finished'));
    await expect(first).rejects.toThrow('answer finished');
    expect(throttle.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(second).resolves.toBeTypeOf('function');
  });

  it('keeps a third of the budget from optional calls, and none while others wait or it is paused', async () => {
    const throttle = new BotThrottle(30);
    expect(throttle.hasRoom()).toBe(true);
    for (let i = 0; i < 19; i++) (await throttle.acquire())();
    expect(throttle.hasRoom()).toBe(true); // 11 left
    (await throttle.acquire())();
    expect(throttle.hasRoom()).toBe(false); // 10 left: kept for the answers
    await vi.advanceTimersByTimeAsync(1_000);
    expect(throttle.hasRoom()).toBe(true);
    const waiting = grants(throttle, 34);
    expect(throttle.hasRoom()).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting).toHaveLength(30);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(waiting).toHaveLength(34);
    await vi.advanceTimersByTimeAsync(1_000);
    throttle.pause(1);
    expect(throttle.hasRoom()).toBe(false);
  });

  it('counts a write from its start until a second after Telegram answered it', async () => {
    const throttle = new BotThrottle(1);
    const slow = await throttle.acquire(); // Telegram takes 3 s to answer it
    const at = grants(throttle, 1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(at).toEqual([]);
    slow();
    await vi.advanceTimersByTimeAsync(999);
    expect(at).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([4_000]);
  });

  it('lets optional calls go at low rates too, when the bot is idle', async () => {
    const slow = new BotThrottle(1);
    expect(slow.hasRoom()).toBe(true);
    (await slow.acquire())();
    expect(slow.hasRoom()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(slow.hasRoom()).toBe(true);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new BotThrottle(0)).toThrow('perSecond must be positive, got 0');
  });
});

describe('BotThrottle with the fake Bot API', () => {
  let f: FakeTelegram;
  beforeEach(async () => {
    f = await startFakeTelegram();
  });
  afterEach(async () => {
    await f.close();
  });

  /** A grammY bot as createBot wires it: the throttle inside auto-retry. */
  function throttledBot(perSecond: number): { bot: Bot; token: string; throttle: BotThrottle } {
    const { token } = f.addBot({ username: `bot_${Math.random().toString(36).slice(2, 8)}` });
    const bot = new Bot(token, { client: { apiRoot: f.apiRoot } });
    const throttle = new BotThrottle(perSecond);
    bot.api.config.use(throttle.transformer());
    bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
    return { bot, token, throttle };
  }

  const refusals = (token: string) =>
    f.calls.filter((c) => c.token === token && c.response?.ok === false && c.response.error_code === 429);

  it('keeps a bot under Telegram’s flood limit, where the same burst unthrottled is refused', async () => {
    // The same limit on both sides: the throttle's count must be exact, whatever the network does.
    f.floodLimit(8);
    const paced = throttledBot(8);
    const started = Date.now();
    await Promise.all(Array.from({ length: 24 }, (_, i) => paced.bot.api.sendMessage(1_000 + i, `answer ${i}`)));
    expect(refusals(paced.token)).toEqual([]);
    // 8 at once, 8 a second later, 8 two seconds later.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);

    const unpaced = throttledBot(1_000);
    await Promise.all(Array.from({ length: 24 }, (_, i) => unpaced.bot.api.sendMessage(1_000 + i, `answer ${i}`)));
    expect(refusals(unpaced.token).length).toBeGreaterThan(0);
  }, 20_000);

  it('pauses only the bot Telegram refused: another bot writes on meanwhile', async () => {
    const a = throttledBot(30);
    const b = throttledBot(30);
    f.failNext(
      'sendMessage',
      1,
      { error_code: 429, description: 'Too Many Requests: retry after 2', retry_after: 2 },
      a.token,
    );
    const refusedAnswer = a.bot.api.sendMessage(1, 'refused, then retried');
    while (a.throttle.pausedFor() === 0) await new Promise((r) => setTimeout(r, 5));
    // When the 2 s pause ends, however late this loop noticed it began.
    const pauseEnds = Date.now() + a.throttle.pausedFor();
    // The same bot's other chat waits for the pause too; the other bot does not.
    const sameBot = a.bot.api.sendMessage(2, 'waits for the pause').then(() => Date.now());
    const otherBot = b.bot.api.sendMessage(3, 'not paused').then(() => Date.now());
    expect(await otherBot).toBeLessThan(pauseEnds - 500);
    expect(await sameBot).toBeGreaterThanOrEqual(pauseEnds - 20);
    await refusedAnswer;
    const aWrites = f.calls.filter((c) => c.token === a.token && c.method === 'sendMessage');
    expect(aWrites.map((c) => c.response?.ok)).toEqual([false, true, true]);
  }, 20_000);
});
