import type { BackendPool } from '../../../model-proxy/backends/pool.js';

/**
 * Counts a pool's health-check rounds, so a test can say "by the end of the next round"
 * instead of racing a wall clock on a loaded machine. Call before pool.start().
 */
export function watchHealthRounds(pool: BackendPool): { nextRoundDone(): Promise<void> } {
  const original = pool.checkNow.bind(pool);
  let started = 0;
  const waiters: { round: number; resolve: () => void }[] = [];
  pool.checkNow = async () => {
    const round = ++started;
    await original();
    for (const w of waiters.filter((x) => x.round === round)) w.resolve();
  };
  return {
    /** Resolves when the first round that starts after this call has finished. */
    nextRoundDone: () => new Promise<void>((resolve) => waiters.push({ round: started + 1, resolve })),
  };
}
