/**
 * AnswerStream on its own, with a recording stand-in for grammY's Api: what it does when the
 * bot's throttle has no room for previews.
 */
import type { Api } from 'grammy';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnswerStream } from '../../../gateway/bot/answer-stream.js';
import { ChatPacer } from '../../../gateway/bot/pacer.js';
import type { BotThrottle } from '../../../gateway/bot/throttle.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('AnswerStream when the bot has no room for previews', () => {
  it('skips the frames, asks the throttle once per interval, not in a loop, and still delivers the answer', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const calls: string[] = [];
    const api = {
      sendMessageDraft: async () => {
        calls.push('sendMessageDraft');
        return true;
      },
      sendMessage: async () => {
        calls.push('sendMessage');
        return { message_id: 1 };
      },
    } as unknown as Api;
    let asked = 0;
    const throttle = {
      hasRoom: () => {
        asked++;
        return false;
      },
    } as unknown as BotThrottle;
    const stream = new AnswerStream({
      api,
      to: { chatId: 42 },
      mode: 'draft',
      pacer: new ChatPacer(),
      throttle,
      log: pino({ level: 'silent' }),
    });
    let text = '';
    for (let i = 0; i < 20; i++) {
      text += `word${i} `;
      stream.update(text);
      await vi.advanceTimersByTimeAsync(100);
    }
    // Two seconds of streaming at one frame per 400 ms: about five asks, no preview sent.
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(asked).toBeLessThanOrEqual(7);
    expect(calls).toEqual([]);
    await stream.finish(text);
    expect(calls).toEqual(['sendMessage']);
  });
});
