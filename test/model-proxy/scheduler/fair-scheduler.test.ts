import { afterEach, describe, expect, it, vi } from 'vitest';
import { LimitError, NotFoundError, UpstreamUnavailableError } from '../../../core/errors.js';
import { BackendPool } from '../../../model-proxy/backends/pool.js';
import { type AcquireRequest, FairScheduler, type Lease } from '../../../model-proxy/scheduler/fair-scheduler.js';
import { type FakeOllama, startFakeOllama } from '../../fakes/ollama.js';

/**
 * These tests never send a request to a backend: the pool is not started, so its
 * backends are healthy with unknown models and nothing listens at their URLs.
 */
const UNUSED_URL = 'http://127.0.0.1:9';

const MODEL = 'llama3.1:8b';

interface SetupOptions {
  maxWaitMs?: number;
  maxQueuedPerTenant?: number;
  urls?: string[];
  now?: () => number;
}

function setup(slots: number, opts: SetupOptions = {}) {
  const pool = new BackendPool(opts.urls ?? [UNUSED_URL], { slotsPerBackend: slots, failureThreshold: 1000 });
  const scheduler = new FairScheduler(pool, {
    maxWaitMs: opts.maxWaitMs ?? 60_000,
    maxQueuedPerTenant: opts.maxQueuedPerTenant ?? 10_000,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { pool, scheduler };
}

const req = (tenantId: string, extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
  tenantId,
  weight: 1,
  maxConcurrent: null,
  model: MODEL,
  ...extra,
});

/** Lets promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const inUse = (pool: BackendPool) => pool.states().reduce((sum, b) => sum + b.inUse, 0);

/** Records the order in which acquisitions are granted. */
function recorder(scheduler: FairScheduler) {
  const order: string[] = [];
  const leases: Lease[] = [];
  const acquire = (label: string, r: AcquireRequest) =>
    scheduler.acquire(r).then((lease) => {
      order.push(label);
      leases.push(lease);
      return lease;
    });
  /** Releases the oldest lease still held and lets the next grant land. */
  const releaseOldest = async () => {
    leases.shift()?.release();
    await flush();
  };
  return { order, leases, acquire, releaseOldest };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FairScheduler', () => {
  it('gives a tenant alone every slot at once, without waiting', async () => {
    let clock = 1_000;
    const { pool, scheduler } = setup(4, { now: () => clock });
    const leases = await Promise.all([1, 2, 3, 4].map(() => scheduler.acquire(req('a'))));
    expect(leases.map((l) => l.waitedMs)).toEqual([0, 0, 0, 0]);
    const fifth = scheduler.acquire(req('a'));
    clock += 250;
    leases[0]?.release();
    expect((await fifth).waitedMs).toBe(250);
    expect(inUse(pool)).toBe(4);
    expect(scheduler.stats().tenants).toMatchObject([
      { tenantId: 'a', inFlight: 4, queued: 0, dispatched: 5, waitedMsTotal: 250, recentWaitsMs: [0, 0, 0, 0, 250] },
    ]);
  });

  it('alternates free slots between two waiting tenants of equal weight, FIFO within each', async () => {
    const { scheduler } = setup(1);
    const holder = await scheduler.acquire(req('h'));
    const r = recorder(scheduler);
    for (const label of ['a1', 'a2', 'a3']) void r.acquire(label, req('a'));
    for (const label of ['b1', 'b2', 'b3']) void r.acquire(label, req('b'));
    holder.release();
    await flush();
    for (let i = 0; i < 6; i++) await r.releaseOldest();
    expect(r.order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });

  it('serves weights 2:1 in a 2:1 ratio over many dispatches', async () => {
    const { scheduler } = setup(1);
    const holder = await scheduler.acquire(req('h'));
    const r = recorder(scheduler);
    for (let i = 0; i < 400; i++) {
      void r.acquire('a', req('a', { weight: 2 }));
      void r.acquire('b', req('b', { weight: 1 }));
    }
    holder.release();
    await flush();
    for (let i = 0; i < 299; i++) await r.releaseOldest();
    const a = r.order.filter((x) => x === 'a').length;
    const b = r.order.filter((x) => x === 'b').length;
    expect(a + b).toBe(300);
    expect(a).toBe(200);
    expect(b).toBe(100);
    expect(scheduler.stats().tenants.find((t) => t.tenantId === 'a')?.queued).toBe(200);
  });

  it('holds a tenant to its concurrency cap and gives the other slots to others', async () => {
    const { pool, scheduler } = setup(4);
    const r = recorder(scheduler);
    for (const label of ['a1', 'a2', 'a3', 'a4']) void r.acquire(label, req('a', { maxConcurrent: 2 }));
    await flush();
    expect(r.order).toEqual(['a1', 'a2']);
    void r.acquire('b1', req('b'));
    void r.acquire('b2', req('b'));
    await flush();
    expect(r.order).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(inUse(pool)).toBe(4);
    await r.releaseOldest(); // a1 ends: a3 may start
    expect(r.order.at(-1)).toBe('a3');
    await r.releaseOldest(); // a2 ends: a4 may start
    expect(r.order.at(-1)).toBe('a4');
    expect(scheduler.stats().tenants.find((t) => t.tenantId === 'a')).toMatchObject({ inFlight: 2, queued: 0 });
  });

  it('takes an aborted request out of the queue and never hands it a slot', async () => {
    const { pool, scheduler } = setup(1);
    const holder = await scheduler.acquire(req('h'));
    const controller = new AbortController();
    const waiting = scheduler.acquire(req('a', { signal: controller.signal }));
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(scheduler.stats().totals).toMatchObject({ queued: 0, aborted: 1 });
    holder.release();
    expect(inUse(pool)).toBe(0);
    await expect(scheduler.acquire(req('a', { signal: controller.signal }))).rejects.toBe(reason);
  });

  it('refuses with a 429 and Retry-After after maxWaitMs in the queue', async () => {
    vi.useFakeTimers();
    const { scheduler } = setup(1, { maxWaitMs: 5_000 });
    await scheduler.acquire(req('h'));
    const waiting = scheduler.acquire(req('a'));
    const outcome = waiting.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(scheduler.stats().totals.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(LimitError);
    const limit = err as LimitError;
    expect(limit.status).toBe(429);
    expect(limit.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(limit.message).toMatch(/GPU is busy.*waited 5 s.*Retry in \d+ s/);
    expect(scheduler.stats().totals).toMatchObject({ queued: 0, timedOut: 1 });
  });

  it('refuses at once with a 429 when the tenant already has maxQueuedPerTenant waiting', async () => {
    const { scheduler } = setup(1, { maxQueuedPerTenant: 2 });
    await scheduler.acquire(req('h'));
    void scheduler.acquire(req('a')).catch(() => {});
    void scheduler.acquire(req('a')).catch(() => {});
    const err = await scheduler.acquire(req('a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((err as LimitError).message).toMatch(
      /2 requests of this tenant already waiting for a slot\. Retry in \d+ s\./,
    );
    // Another tenant still queues.
    void scheduler.acquire(req('b')).catch(() => {});
    expect(scheduler.stats().totals).toMatchObject({ queued: 3, queueFull: 1 });
    scheduler.close();
  });

  it('refuses at once with a 503 when every backend is excluded, and when the last one goes out', async () => {
    const { pool, scheduler } = setup(1, { urls: ['http://127.0.0.1:9', 'http://127.0.0.1:10'] });
    const excluded = await scheduler
      .acquire(req('a', { exclude: new Set(['127.0.0.1:9', '127.0.0.1:10']) }))
      .catch((e: unknown) => e);
    expect(excluded).toBeInstanceOf(UpstreamUnavailableError);
    expect((excluded as UpstreamUnavailableError).status).toBe(503);
    const [one, two] = await Promise.all([scheduler.acquire(req('h')), scheduler.acquire(req('h'))]);
    const waiting = scheduler.acquire(req('a', { exclude: new Set([one.backend.name]) })).catch((e: unknown) => e);
    // The only backend the waiter may use reports failures until it is taken out.
    for (let i = 0; i < 1000; i++) pool.markFailure(two.backend, new Error('boom'));
    const err = await waiting;
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as Error).message).toMatch(/no healthy backend other than .* has model "llama3.1:8b"/);
  });

  it('treats a second release of a lease as a no-op', async () => {
    const { pool, scheduler } = setup(1);
    const first = await scheduler.acquire(req('a'));
    const second = scheduler.acquire(req('b'));
    first.release();
    const lease = await second;
    first.release();
    first.release({ failed: true });
    expect(inUse(pool)).toBe(1);
    const third = scheduler.acquire(req('c'));
    await flush();
    expect(scheduler.stats().totals).toMatchObject({ queued: 1, inFlight: 1 });
    lease.release();
    (await third).release();
    expect(inUse(pool)).toBe(0);
    expect(scheduler.stats().totals.inFlight).toBe(0);
  });

  it('leaks no slot over 1,000 random acquires, releases and aborts', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const slots = 3;
    const { pool, scheduler } = setup(slots, { urls: ['http://127.0.0.1:9', 'http://127.0.0.1:10'] });
    const caps: Record<string, number | null> = { t0: null, t1: 1, t2: 2, t3: null };
    const held: Lease[] = [];
    const waiting: AbortController[] = [];
    let granted = 0;
    let aborted = 0;
    for (let op = 0; op < 1000; op++) {
      const roll = random();
      if (roll < 0.5) {
        const tenantId = `t${Math.floor(random() * 4)}`;
        const controller = new AbortController();
        waiting.push(controller);
        scheduler
          .acquire(
            req(tenantId, {
              weight: 1 + Math.floor(random() * 3),
              maxConcurrent: caps[tenantId] ?? null,
              signal: controller.signal,
            }),
          )
          .then(
            (lease) => {
              granted++;
              if (controller.signal.aborted) lease.release();
              else held.push(lease);
            },
            () => aborted++,
          );
      } else if (roll < 0.85) {
        const lease = held.splice(Math.floor(random() * held.length), 1)[0];
        lease?.release({ failed: random() < 0.1 });
        if (lease && random() < 0.2) lease.release(); // a double release now and then
      } else {
        waiting.splice(Math.floor(random() * waiting.length), 1)[0]?.abort(new Error('gone'));
      }
      await flush();
      const states = pool.states();
      for (const b of states) expect(b.inUse).toBeLessThanOrEqual(slots);
      const stats = scheduler.stats();
      for (const t of stats.tenants) {
        const cap = caps[t.tenantId];
        if (cap) expect(t.inFlight).toBeLessThanOrEqual(cap);
      }
      // Work-conserving: nothing waits while a slot is free, unless its tenant is at its cap.
      if (pool.freeSlots() > 0) {
        for (const t of stats.tenants) if (t.queued > 0) expect(t.inFlight).toBe(caps[t.tenantId]);
      }
      expect(inUse(pool)).toBe(held.length);
    }
    for (const c of waiting) c.abort(new Error('gone'));
    await flush();
    for (const lease of held.splice(0)) lease.release();
    await flush();
    for (const lease of held.splice(0)) lease.release();
    expect(granted).toBeGreaterThan(100);
    expect(aborted).toBeGreaterThan(10);
    expect(inUse(pool)).toBe(0);
    expect(scheduler.stats().totals).toMatchObject({ queued: 0, inFlight: 0 });
  });
});

describe('FairScheduler with a real backend', () => {
  let fake: FakeOllama | undefined;
  afterEach(async () => {
    await fake?.close();
  });

  it('refuses at once with a 404 when every backend answered and none has the model, even while slots are full', async () => {
    fake = await startFakeOllama({ models: ['llama3.1:8b'] });
    const pool = new BackendPool([fake.url], { slotsPerBackend: 1 });
    await pool.checkNow();
    const scheduler = new FairScheduler(pool, { maxWaitMs: 60_000, maxQueuedPerTenant: 10 });
    const lease = await scheduler.acquire(req('a'));
    const started = Date.now();
    const err = await scheduler.acquire(req('a', { model: 'mistral' })).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000); // not the 60 s maxWait
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe('model "mistral" not found, try pulling it first');
    // The short name of an installed model is the same model.
    const waiting = scheduler.acquire(req('b', { model: 'LLAMA3.1:8B' }));
    lease.release();
    expect((await waiting).backend.url).toBe(fake.url);
    expect(scheduler.stats().totals.unavailable).toBe(1);
  });
});
