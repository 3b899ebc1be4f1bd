import { describe, expect, it } from 'vitest';
import { countOf, dayOf, formatCount, formatUtc, monthOf } from '../../../model-proxy/limits/periods.js';
import { SlidingWindow } from '../../../model-proxy/limits/window.js';

const ms = (iso: string) => Date.parse(iso);

describe('UTC periods', () => {
  it('ends a month at the first instant of the next, across the year', () => {
    expect(monthOf(ms('2026-12-31T23:59:59.999Z'))).toEqual({
      key: '2026-12',
      start: ms('2026-12-01T00:00:00Z'),
      end: ms('2027-01-01T00:00:00Z'),
    });
    expect(monthOf(ms('2028-02-29T12:00:00Z')).end).toBe(ms('2028-03-01T00:00:00Z'));
    expect(monthOf(ms('2026-11-01T00:00:00Z')).key).toBe('2026-11');
  });

  it('ends a day at the next midnight UTC, across months and years', () => {
    expect(dayOf(ms('2026-12-31T23:59:59Z'))).toEqual({
      key: '2026-12-31',
      start: ms('2026-12-31T00:00:00Z'),
      end: ms('2027-01-01T00:00:00Z'),
    });
    expect(dayOf(ms('2026-11-30T00:00:00Z')).end).toBe(ms('2026-12-01T00:00:00Z'));
  });

  it('writes times and counts as people read them', () => {
    expect(formatUtc(ms('2026-12-01T00:00:00Z'))).toBe('2026-12-01 00:00 UTC');
    expect(formatCount(2_000_000)).toBe('2,000,000');
    expect(formatCount(999)).toBe('999');
    expect(countOf(1, 'message')).toBe('1 message');
    expect(countOf(1_000, 'token')).toBe('1,000 tokens');
  });
});

describe('SlidingWindow', () => {
  it('sums the last minute, forgets what is older, and says when enough room frees up', () => {
    const w = new SlidingWindow();
    w.add(0, 5);
    const taken = w.add(10_000, 3);
    w.add(20_000, 2);
    expect(w.total(59_999)).toBe(10);
    expect(w.total(60_000)).toBe(5);
    expect(w.waitToFree(3, 60_000)).toBe(10_000);
    expect(w.waitToFree(4, 60_000)).toBe(20_000);
    expect(w.waitToFree(6, 60_000)).toBeNull();
    w.remove(taken, 60_000);
    w.remove(taken, 60_000);
    expect(w.total(60_000)).toBe(2);
    expect(w.total(80_000)).toBe(0);
  });

  it('stays correct after compacting a long history', () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 5_000; i++) w.add(i * 100, 1);
    expect(w.total(499_900)).toBe(600);
    expect(w.waitToFree(1, 499_900)).toBe(100);
  });
});
