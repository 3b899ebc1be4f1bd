/** A UTC calendar period (a month or a day) that a counter belongs to. */
export interface Period {
  /** "YYYY-MM" for a month, "YYYY-MM-DD" for a day. */
  key: string;
  /** First millisecond of the period. */
  start: number;
  /** First millisecond of the next period: when counters of this one reset. */
  end: number;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The UTC month holding an instant. */
export function monthOf(ms: number): Period {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return { key: `${y}-${pad(m + 1)}`, start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
}

/** The UTC day holding an instant. */
export function dayOf(ms: number): Period {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  return { key: `${y}-${pad(m + 1)}-${pad(day)}`, start: Date.UTC(y, m, day), end: Date.UTC(y, m, day + 1) };
}

/** A UTC day as `usage_daily.day` spells it (YYYY-MM-DD). */
export const dayKey = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** "2026-12-01 00:00 UTC": when a limit resets, as people read it. */
export const formatUtc = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Whole seconds from `now` until `at`, at least 1 (a `Retry-After` of 0 invites a busy loop). */
export const secondsUntil = (at: number, now: number): number => Math.max(1, Math.ceil((at - now) / 1000));

/** 2000000 → "2,000,000". */
export const formatCount = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** (1, "message") → "1 message"; (2000, "token") → "2,000 tokens". */
export const countOf = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
