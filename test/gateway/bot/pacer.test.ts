import { describe, expect, it } from 'vitest';
import { ChatPacer } from '../../../gateway/bot/pacer.js';

describe('ChatPacer', () => {
  it('keeps one call a second and fewer than 20 a minute in a chat, apart from other chats', () => {
    const pacer = new ChatPacer();
    const t = 1_000_000;
    expect(pacer.tryTake(1, t)).toBe(true);
    expect(pacer.tryTake(1, t + 500)).toBe(false);
    expect(pacer.wait(1, t + 500)).toBe(500);
    expect(pacer.tryTake(2, t + 500)).toBe(true);
    for (let i = 1; i < 19; i++) expect(pacer.tryTake(1, t + i * 1_000)).toBe(true);
    // 19 calls in the minute: the 20th waits until the first is a minute old.
    expect(pacer.wait(1, t + 19_000)).toBe(41_000);
    expect(pacer.tryTake(1, t + 60_001)).toBe(true);
  });

  it('forgets chats with no call in the last minute, so answering many chats does not grow it forever', () => {
    const pacer = new ChatPacer();
    const t = 1_000_000;
    for (let chat = 1; chat <= 5_000; chat++) pacer.tryTake(chat, t + chat);
    expect(pacer.size).toBe(5_000);
    // A minute later one more chat is answered; the others are never asked about again.
    pacer.tryTake(9_999, t + 70_000);
    expect(pacer.size).toBe(1);
    // A chat still inside its minute is kept.
    pacer.tryTake(10_000, t + 100_000);
    pacer.tryTake(10_001, t + 140_001);
    expect(pacer.size).toBe(2);
  });
});
