import { budgetShare, formatCompact, formatNumber } from './format.js';

/** Props of `UsageBar`. */
export interface UsageBarProps {
  /** Tokens used this month. */
  used: number;
  /** The monthly token budget; null means unlimited. */
  budget: number | null;
  /** Width of the bar in CSS pixels. */
  width?: number;
}

/** Colour of the fill: calm below 80 %, amber to 100 %, red beyond. */
function fillColour(share: number): string {
  if (share >= 1) return '#b91c1c';
  if (share >= 0.8) return '#d97706';
  return '#1d4ed8';
}

/**
 * Tokens used against the monthly budget as a small inline SVG bar with a short label,
 * so a glance down the tenant list shows who is close to their limit.
 */
export function UsageBar({ used, budget, width = 120 }: UsageBarProps) {
  const height = 8;
  if (budget === null) {
    return (
      <span class="usage">
        <span class="label">{formatCompact(used)} · no limit</span>
      </span>
    );
  }
  const share = budgetShare(used, budget);
  const percent = Math.round(share * 100);
  const fill = used > 0 ? Math.max(Math.min(share, 1) * width, 2) : 0;
  const description = `${formatNumber(used)} of ${formatNumber(budget)} tokens this month (${percent}%)`;
  return (
    <span class="usage">
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={description}
        data-share={share.toFixed(4)}
      >
        <title>{description}</title>
        <rect width={width} height={height} rx={height / 2} fill="#e5e7eb" />
        {fill > 0 && <rect width={fill} height={height} rx={height / 2} fill={fillColour(share)} />}
      </svg>
      <span class="label">
        {percent}% of {formatCompact(budget)}
      </span>
    </span>
  );
}
