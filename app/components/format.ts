const whole = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** A count with thousands separators: 1,234,567. */
export const formatNumber = (n: number): string => whole.format(n);

/** A count in few characters for tight spots: 1.2M. */
export const formatCompact = (n: number): string => compact.format(n);

/** A nullable limit: the number, or "unlimited" for NULL. */
export const formatLimit = (n: number | null): string => (n === null ? 'unlimited' : formatNumber(n));

/** An epoch-ms time as a UTC calendar day, e.g. 2026-11-22. */
export const formatDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Micro-units of cost as a decimal amount with two places. */
export const formatCost = (micros: number): string =>
  (micros / 1_000_000).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Share of a budget used, 0 when there is no budget, not clamped (over budget exceeds 1). */
export const budgetShare = (used: number, budget: number | null): number =>
  budget === null || budget <= 0 ? 0 : used / budget;
