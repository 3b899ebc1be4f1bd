import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../../core/errors.js';
import { normalizeModelName } from '../../../model-proxy/backends/ollama/model-name.js';
import { BackendPool } from '../../../model-proxy/backends/pool.js';
import { type FakeOllama, startFakeOllama } from '../../fakes/ollama.js';
import { watchHealthRounds } from './health-rounds.js';

const fakes: FakeOllama[] = [];
const pools: BackendPool[] = [];

async function fakeOllama(models?: string[]): Promise<FakeOllama> {
  const fake = await startFakeOllama(models ? { models } : {});
  fakes.push(fake);
  return fake;
}

function pool(urls: string[], opts: Partial<ConstructorParameters<typeof BackendPool>[1]> = {}): BackendPool {
  // A generous check timeout: a loaded machine can stall a check past the default 500 ms
  // of a short interval, and a healthy backend would flap.
  const p = new BackendPool(urls, { slotsPerBackend: 2, healthTimeoutMs: 5_000, ...opts });
  pools.push(p);
  return p;
}

/** Polls until `check` holds and returns how long that took. */
async function waitUntil(check: () => boolean, timeoutMs = 3_000): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

afterEach(async () => {
  for (const p of pools.splice(0)) p.stop();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

describe('normalizeModelName', () => {
  it('adds the :latest tag Ollama assumes and ignores case', () => {
    expect(normalizeModelName('llama3.1')).toBe('llama3.1:latest');
    expect(normalizeModelName(' Llama3.1:8B ')).toBe('llama3.1:8b');
    expect(normalizeModelName('registry.local:5000/team/llama3')).toBe('registry.local:5000/team/llama3:latest');
    expect(normalizeModelName('team/llama3:q4')).toBe('team/llama3:q4');
  });
});

describe('BackendPool', () => {
  it('refuses an empty list, bad slots and a backend listed twice', () => {
    expect(() => new BackendPool([], { slotsPerBackend: 1 })).toThrow(/at least one/);
    expect(() => new BackendPool(['http://127.0.0.1:9'], { slotsPerBackend: 0 })).toThrow(/slotsPerBackend/);
    expect(() => new BackendPool(['http://127.0.0.1:9', 'http://127.0.0.1:9/'], { slotsPerBackend: 1 })).toThrow(
      /listed twice/,
    );
  });

  it('treats every model as possibly present until a check succeeds, then knows them by normalised name', async () => {
    const fake = await fakeOllama(['llama3.1', 'nomic-embed-text:latest']);
    const p = pool([fake.url]);
    expect(p.hasCandidate('anything')).toBe(true);
    expect(p.states()[0]).toMatchObject({ healthy: true, models: null, slots: 2, inUse: 0, lastError: null });
    await p.checkNow();
    expect(p.states()[0]?.models).toEqual(['llama3.1:latest', 'nomic-embed-text:latest']);
    expect(p.hasCandidate('llama3.1:latest')).toBe(true);
    expect(p.hasCandidate('LLAMA3.1')).toBe(true);
    expect(p.hasCandidate('nomic-embed-text')).toBe(true);
    expect(p.hasCandidate('llama3.1:70b')).toBe(false);
    expect(p.hasCandidate('anything')).toBe(false);
  });

  it('picks the backend with the model and the most free slots, never one excluded or full', async () => {
    const [a, b] = await Promise.all([fakeOllama(['llama3.1:8b', 'qwen3:4b']), fakeOllama(['llama3.1:8b'])]);
    const p = pool([a!.url, b!.url]);
    await p.checkNow();
    const [ba, bb] = p.backends as [(typeof p.backends)[0], (typeof p.backends)[0]];
    p.occupySlot(ba);
    expect(p.pick('llama3.1:8b')).toBe(bb);
    p.occupySlot(bb);
    p.occupySlot(bb);
    expect(p.pick('llama3.1:8b')).toBe(ba);
    expect(p.pick('llama3.1:8b', new Set([ba.name]))).toBeUndefined();
    expect(p.pick('qwen3:4b')).toBe(ba);
    p.occupySlot(ba);
    expect(p.pick('qwen3:4b')).toBeUndefined();
    expect(p.hasCandidate('qwen3:4b')).toBe(true);
    expect(p.freeSlots()).toBe(0);
    p.freeSlot(bb);
    expect(p.freeSlots()).toBe(1);
    expect(p.states().map((s) => s.inUse)).toEqual([2, 1]);
    // Calls that take no slot still find a backend when every slot is busy.
    p.occupySlot(bb);
    expect(p.pick('llama3.1:8b')).toBeUndefined();
    expect(p.backendFor('qwen3:4b')).toBe(ba);
    expect(p.backendFor('mistral')).toBeUndefined();
    expect(p.backendFor()).toBe(ba);
  });

  it('takes a backend out at the first health check after it dies, and back at the first after it returns', async () => {
    const fake = await fakeOllama();
    const intervalMs = 100;
    const p = pool([fake.url], { healthIntervalMs: intervalMs });
    const rounds = watchHealthRounds(p);
    const changes: boolean[] = [];
    p.onChange(() => changes.push(p.states()[0]?.healthy ?? false));
    p.start();
    await waitUntil(() => p.states()[0]?.models !== null);
    // The first round that starts after the backend dies takes it out (no traffic here,
    // so only the health check can notice), and one interval apart the rounds come.
    const died = rounds.nextRoundDone();
    const downAt = performance.now();
    fake.setDown(true);
    await died;
    // Loose on purpose: other processes may starve this one; the round count is the real check.
    expect(performance.now() - downAt).toBeLessThan(intervalMs + 5_000);
    expect(p.states()[0]?.healthy).toBe(false);
    expect(p.states()[0]?.lastError).toMatch(/unreachable/);
    expect(p.hasCandidate('llama3.1:8b')).toBe(false);
    expect(p.freeSlots()).toBe(0);
    const returned = rounds.nextRoundDone();
    fake.setDown(false);
    await returned;
    expect(p.states()[0]?.healthy).toBe(true);
    expect(p.states()[0]?.lastError).toBeNull();
    expect(changes).toEqual([true, false, true]);
  });

  it('takes a backend out after failureThreshold failures in a row; a success in between resets the count', async () => {
    const fake = await fakeOllama();
    const p = pool([fake.url], { failureThreshold: 3 });
    const backend = p.backends[0]!;
    p.markFailure(backend, new Error('boom'));
    p.markFailure(backend, new Error('boom'));
    p.markSuccess(backend);
    p.markFailure(backend, new Error('boom'));
    p.markFailure(backend, new Error('boom'));
    expect(p.states()[0]?.healthy).toBe(true);
    p.markFailure(backend, new Error('connection reset'));
    expect(p.states()[0]).toMatchObject({ healthy: false, lastError: '3 requests failed in a row: connection reset' });
    await p.checkNow();
    expect(p.states()[0]).toMatchObject({ healthy: true, lastError: null });
  });

  it('counts a 5xx or a body without a model list as a failed check', async () => {
    const fake = await fakeOllama();
    const p = pool([fake.url]);
    fake.failNext(1, { status: 500, error: 'out of memory', path: '/api/tags' });
    await p.checkNow();
    expect(p.states()[0]).toMatchObject({
      healthy: false,
      lastError: expect.stringMatching(/answered 500.*out of memory/),
    });
    await p.checkNow();
    expect(p.states()[0]?.healthy).toBe(true);
    await expect(p.backends[0]!.listModels(AbortSignal.timeout(1000))).resolves.toContain('llama3.1:8b');
    fake.failNext(1, { status: 200, error: 'not a list', path: '/api/tags' });
    const err = await p.backends[0]!.listModels(AbortSignal.timeout(1000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as Error).message).toMatch(/without a model list/);
  });

  it('stops checking after stop()', async () => {
    const fake = await fakeOllama();
    const p = pool([fake.url], { healthIntervalMs: 20 });
    p.start();
    await waitUntil(() => fake.requests.length >= 2);
    p.stop();
    // A check written just before stop() may still arrive: wait for the count to settle.
    let seen = -1;
    while (fake.requests.length !== seen) {
      seen = fake.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // 15 intervals
    expect(fake.requests.length).toBe(seen);
  });

  it('only knows its own backends', () => {
    const p = pool(['http://127.0.0.1:9']);
    const other = pool(['http://127.0.0.1:10']);
    expect(() => p.markFailure(other.backends[0]!)).toThrow(/not in this pool/);
  });
});
