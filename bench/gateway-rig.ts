/**
 * Timing helpers of bench/gateway.ts; its process readers (free port, RSS and CPU from
 * /proc) are bench:proxy's, in bench/proxy/children.ts.
 */
import { cpuMs, rssBytes } from './proxy/children.js';

export { freePort } from './proxy/children.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident set size of a process in MB. */
export const rssMb = (pid: number) => Math.round((rssBytes(pid) ?? Number.NaN) / 1048576);

/** CPU time (user + system) a process has used, in ms. */
export const cpuMsOf = (pid: number) => cpuMs(pid) ?? Number.NaN;

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: no ${what} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
