import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OllamaBackend } from '../../../model-proxy/backends/ollama/client.js';
import { BackendPool } from '../../../model-proxy/backends/pool.js';
import { FairScheduler } from '../../../model-proxy/scheduler/fair-scheduler.js';
import { type FakeOllama, type FakeOllamaRequestRecord, startFakeOllama } from '../../fakes/ollama.js';
import { watchHealthRounds } from './health-rounds.js';

/**
 * The failover test: two fake Ollamas, one dies mid-run. A request that fails
 * before its first byte is retried on another backend, the way the chat route does it.
 */
const MODEL = 'llama3.1:8b';
const HEALTH_INTERVAL_MS = 100;
const REQUESTS = 60;

let left: FakeOllama;
let right: FakeOllama;
let pool: BackendPool;
let scheduler: FairScheduler;
let rounds: ReturnType<typeof watchHealthRounds>;

beforeAll(async () => {
  // Answers take 40 ms before the first byte and are then written in one go, so a backend
  // that dies catches its requests before their first byte.
  const opts = { tokens: 3, firstChunkDelayMs: 40, chunkDelayMs: 0 };
  [left, right] = await Promise.all([startFakeOllama(opts), startFakeOllama(opts)]);
  pool = new BackendPool([left.url, right.url], {
    slotsPerBackend: 4,
    healthIntervalMs: HEALTH_INTERVAL_MS,
    healthTimeoutMs: 5_000, // a stalled test process must not take a live backend out
  });
  rounds = watchHealthRounds(pool);
  pool.start();
  await pool.checkNow();
  scheduler = new FairScheduler(pool, { maxWaitMs: 10_000, maxQueuedPerTenant: 1_000 });
});

afterAll(async () => {
  scheduler.close();
  pool.stop();
  await Promise.all([left.close(), right.close()]);
});

interface Outcome {
  id: string;
  /** Backends tried, in order; the last one answered. */
  tried: string[];
  content: string;
}

/** One request: a slot, the POST, the whole answer; a failure before the first byte is retried elsewhere. */
async function chatWithFailover(id: string, tenantId: string): Promise<Outcome> {
  const exclude = new Set<string>();
  const tried: string[] = [];
  for (;;) {
    const lease = await scheduler.acquire({ tenantId, weight: 1, maxConcurrent: null, model: MODEL, exclude });
    tried.push(lease.backend.name);
    let res: Response;
    try {
      res = await lease.backend.post(
        '/api/chat',
        { model: MODEL, messages: [{ role: 'user', content: id }] },
        new AbortController().signal,
      );
    } catch (err) {
      lease.release({ failed: true, error: err });
      exclude.add(lease.backend.name);
      continue;
    }
    try {
      const lines = (await res.text()).trim().split('\n');
      const chunks = lines.map((l) => JSON.parse(l) as { message?: { content?: string }; done?: boolean });
      if (chunks.at(-1)?.done !== true) throw new Error(`answer of ${id} ended before its final chunk`);
      lease.release();
      return { id, tried, content: chunks.map((c) => c.message?.content ?? '').join('') };
    } catch (err) {
      // After the first byte the answer cannot be retried: this request fails (the test expects none).
      lease.release({ failed: true, error: err });
      throw err;
    }
  }
}

const stateOf = (backend: OllamaBackend) => pool.states().find((s) => s.name === backend.name);

async function timeUntil(check: () => boolean, timeoutMs = 3_000): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - started;
}

const finishedChats = (fake: FakeOllama): FakeOllamaRequestRecord[] =>
  fake.requests.filter((r) => r.path === '/api/chat' && r.finished);
const promptOf = (r: FakeOllamaRequestRecord) =>
  (r.body as { messages: { content: string }[] }).messages[0]?.content ?? '';

describe('failover between two backends', () => {
  it('loses no accepted request when a backend dies mid-run, and brings it back when it returns', async () => {
    const [, rightBackend] = pool.backends as [OllamaBackend, OllamaBackend];
    const ids = Array.from({ length: REQUESTS }, (_, i) => `request-${i}`);
    const running = Promise.allSettled(ids.map((id, i) => chatWithFailover(id, i % 2 ? 'a' : 'b')));

    // Kill the right backend while it holds requests that have not had their first byte.
    await timeUntil(() => (stateOf(rightBackend)?.inUse ?? 0) === 4 && finishedChats(right).length >= 4);
    // Out within one health interval: at the latest when the next check round ends.
    const nextRound = rounds.nextRoundDone();
    right.setDown(true);
    const outAfter = await timeUntil(() => stateOf(rightBackend)?.healthy === false);
    await nextRound;
    expect(stateOf(rightBackend)?.healthy).toBe(false);

    const settled = await running;
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    const outcomes = settled.map((s) => (s as PromiseFulfilledResult<Outcome>).value);
    const [leftBackend] = pool.backends as [OllamaBackend, OllamaBackend];

    // Every accepted request got exactly one whole answer, from the last backend it tried.
    expect(outcomes.map((o) => o.id)).toEqual(ids);
    for (const o of outcomes) expect(o.content).toBe('tok1 tok2 tok3');
    // The requests caught on the dying backend were retried once, on the other one.
    const retried = outcomes.filter((o) => o.tried.length > 1);
    expect(retried.length).toBeGreaterThan(0);
    for (const o of retried) expect(o.tried).toEqual([rightBackend.name, leftBackend.name]);
    // The surviving backend completed exactly the requests it answered, each once. The
    // dead one may have finished a retried request whose bytes died with its socket:
    // that answer never reached the proxy, so it is neither delivered nor counted.
    const answeredBy = (b: OllamaBackend) => outcomes.filter((o) => o.tried.at(-1) === b.name).map((o) => o.id);
    expect(finishedChats(left).map(promptOf).sort()).toEqual(answeredBy(leftBackend).sort());
    const rightFinished = finishedChats(right).map(promptOf);
    const retriedIds = new Set(retried.map((o) => o.id));
    expect(rightFinished.filter((id) => !retriedIds.has(id)).sort()).toEqual(answeredBy(rightBackend).sort());
    // No backend was sent the same request twice.
    for (const fake of [left, right]) {
      const sent = fake.requests.filter((r) => r.path === '/api/chat').map(promptOf);
      expect(new Set(sent).size).toBe(sent.length);
    }
    expect(stateOf(rightBackend)?.lastError).toBeTruthy();

    // Back in at the end of the first check round after it recovers.
    const recovered = rounds.nextRoundDone();
    right.setDown(false);
    const backAfter = await timeUntil(() => stateOf(rightBackend)?.healthy === true);
    await recovered;
    expect(stateOf(rightBackend)?.healthy).toBe(true);
    const before = right.requests.filter((r) => r.path === '/api/chat').length;
    const again = await Promise.all(['x1', 'x2', 'x3', 'x4', 'x5', 'x6'].map((id) => chatWithFailover(id, 'a')));
    expect(again.every((o) => o.tried.length === 1)).toBe(true);
    expect(right.requests.filter((r) => r.path === '/api/chat').length).toBeGreaterThan(before);
    expect(pool.states().map((s) => s.inUse)).toEqual([0, 0]);
    console.info(
      `failover: ${REQUESTS} requests, ${retried.length} retried on the other backend; ` +
        `out after ${outAfter.toFixed(0)} ms, back after ${backAfter.toFixed(0)} ms`,
    );
  });
});
