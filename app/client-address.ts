/**
 * The address a request came from, for per-client limits (the console's sign-in limit).
 *
 * With no trusted proxy (`TRUST_PROXY_HOPS=0`, the default) it is the peer of the TCP
 * connection, and X-Forwarded-For is ignored: anyone can write that header. Behind
 * reverse proxies that each append the address they saw to X-Forwarded-For, the peer is
 * the last proxy and the client is the entry `hops` places from the end of the chain
 * `[...X-Forwarded-For, peer]`. Entries further left were written by the client or by
 * proxies not trusted, so they are never used. A chain shorter than that (a request that
 * did not pass through every proxy) falls back to the peer.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, hops: number): string {
  const direct = peer ?? 'unknown';
  if (hops === 0) return direct;
  const chain = [
    ...(forwardedFor ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    direct,
  ];
  return chain.length > hops ? (chain[chain.length - 1 - hops] as string) : direct;
}
