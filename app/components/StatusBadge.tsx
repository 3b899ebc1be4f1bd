/** A tenant's or user's status as a coloured pill: green for active, amber for suspended. */
export function StatusBadge({ status }: { status: string }) {
  const kind = status === 'active' || status === 'suspended' ? status : 'neutral';
  return <span class={`badge ${kind}`}>{status}</span>;
}
