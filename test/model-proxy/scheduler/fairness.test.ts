import { setMaxListeners } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendPool } from '../../../model-proxy/backends/pool.js';
import { FairScheduler } from '../../../model-proxy/scheduler/fair-scheduler.js';
import { type FakeOllama, startFakeOllama } from '../../fakes/ollama.js';

/**
 * The fairness test, against the fake Ollama with a fixed latency: the scheduler
 * and pool are driven directly, doing the backend POST the way the chat route does.
 */
const SLOTS = 4;
const FIRST_CHUNK_DELAY_MS = 20;
const MODEL = 'llama3.1:8b';

let fake: FakeOllama;
let pool: BackendPool;
let scheduler: FairScheduler;
/** Backend requests open at once, and the most seen: the proxy must never exceed its slots. */
let open = 0;
let mostOpen = 0;

beforeAll(async () => {
  fake = await startFakeOllama({ tokens: 3, firstChunkDelayMs: FIRST_CHUNK_DELAY_MS, chunkDelayMs: 0 });
  pool = new BackendPool([fake.url], { slotsPerBackend: SLOTS });
  await pool.checkNow();
  scheduler = new FairScheduler(pool, { maxWaitMs: 30_000, maxQueuedPerTenant: 1_000 });
});

afterAll(async () => {
  scheduler.close();
  await fake.close();
});

/**
 * One chat request through the scheduler: wait for a slot, stream the answer to its end,
 * release. `onGranted` runs as soon as the slot is granted.
 */
async function chat(
  tenantId: string,
  signal: AbortSignal,
  onGranted?: () => void,
): Promise<{ waitedMs: number; serviceMs: number }> {
  const lease = await scheduler.acquire({ tenantId, weight: 1, maxConcurrent: null, model: MODEL, signal });
  onGranted?.();
  const started = performance.now();
  open++;
  mostOpen = Math.max(mostOpen, open);
  try {
    const res = await lease.backend.post(
      '/api/chat',
      { model: MODEL, messages: [{ role: 'user', content: `hello from ${tenantId}` }] },
      signal,
    );
    await res.text();
  } catch (err) {
    open--;
    lease.release({ failed: !signal.aborted, error: err });
    throw err;
  }
  open--;
  lease.release();
  const serviceMs = performance.now() - started;
  serviceTimes.push(serviceMs);
  return { waitedMs: lease.waitedMs, serviceMs };
}

/** Keeps `depth` requests of a tenant waiting (plus those running) until stopped. */
function saturate(tenantId: string, depth: number) {
  const controller = new AbortController();
  // One signal stops all of this tenant's requests, so more than node's default of 10
  // waiters listen to it at once (the scheduler removes each listener when it settles).
  setMaxListeners(depth + SLOTS + 10, controller.signal);
  let completed = 0;
  const launch = (): void => {
    if (controller.signal.aborted) return;
    chat(tenantId, controller.signal).then(
      () => {
        completed++;
        launch();
      },
      () => {},
    );
  };
  for (let i = 0; i < depth + SLOTS; i++) launch();
  return {
    completed: () => completed,
    stop: () => controller.abort(new Error('test over')),
  };
}

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const idle = () => {
  const { totals } = scheduler.stats();
  return totals.queued === 0 && totals.inFlight === 0 && pool.states().every((b) => b.inUse === 0);
};

/** Service times of the requests that chat() completed, in completion order. */
const serviceTimes: number[] = [];

function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('fair sharing of one backend', () => {
  it("keeps a light tenant's waits within one slot-time while another keeps 100 requests queued", async () => {
    const heavy = saturate('a', 100);
    // Start measuring once A's first requests (and their connections) are done.
    await waitUntil(() => heavy.completed() >= 2 * SLOTS);
    const firstService = serviceTimes.length;
    // Other processes may starve this one; a stall lengthens B's wait but not A's median service time.
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    const waits: number[] = [];
    const heavyDepths: number[] = [];
    const heavyGrantsWhileWaiting: number[] = [];
    const heavyDispatched = () => scheduler.stats().tenants.find((t) => t.tenantId === 'a')?.dispatched ?? 0;
    for (let i = 0; i < 15; i++) {
      heavyDepths.push(scheduler.stats().tenants.find((t) => t.tenantId === 'a')?.queued ?? 0);
      const before = heavyDispatched();
      const { waitedMs } = await chat('b', new AbortController().signal, () =>
        heavyGrantsWhileWaiting.push(heavyDispatched() - before),
      );
      waits.push(waitedMs);
    }
    stalls.disable();
    // One slot-time: how long a request held its slot, measured on the requests of this run.
    const slotTime = median(serviceTimes.slice(firstService));
    heavy.stop();
    await waitUntil(idle);
    const stallMs = stalls.max / 1e6;
    const bound = 1.5 * slotTime + 10 + stallMs;
    console.info(
      `fairness: slot-time ${slotTime.toFixed(1)} ms; B's waits max ${Math.max(...waits).toFixed(1)} ms, ` +
        `mean ${(waits.reduce((s, w) => s + w, 0) / waits.length).toFixed(1)} ms (bound ${bound.toFixed(1)} ms, ` +
        `of which event-loop stall ${stallMs.toFixed(1)} ms); A's requests granted while B waited: ` +
        `max ${Math.max(...heavyGrantsWhileWaiting)}; A completed ${heavy.completed()} meanwhile`,
    );
    expect(Math.min(...heavyDepths)).toBeGreaterThanOrEqual(95);
    // B gets the next slot that frees: A is granted none while B waits (one may slip in
    // between B's grant and this test reading the counter).
    for (const n of heavyGrantsWhileWaiting) expect(n).toBeLessThanOrEqual(1);
    for (const w of waits) expect(w).toBeLessThanOrEqual(bound);
    // B really waited behind A's requests: the GPU was busy.
    expect(Math.max(...waits)).toBeGreaterThan(0);
  });

  it('shares slots within 5% between two saturating tenants of equal weight', async () => {
    const a = saturate('a', 100);
    const c = saturate('c', 100);
    // A's first requests find the GPU idle and start at once; count from when both wait.
    await waitUntil(() => a.completed() + c.completed() >= 2 * SLOTS);
    const [startA, startC] = [a.completed(), c.completed()];
    await waitUntil(() => a.completed() + c.completed() >= startA + startC + 200);
    const [doneA, doneC] = [a.completed() - startA, c.completed() - startC];
    a.stop();
    c.stop();
    await waitUntil(idle);
    const difference = Math.abs(doneA - doneC) / Math.max(doneA, doneC);
    console.info(
      `fairness: equal weights, both saturating: A completed ${doneA}, C ${doneC} ` +
        `(difference ${(difference * 100).toFixed(1)}%); whole run A ${a.completed()}, C ${c.completed()}`,
    );
    expect(difference).toBeLessThanOrEqual(0.05);
    expect(mostOpen).toBe(SLOTS);
  });
});
