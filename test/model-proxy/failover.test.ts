/**
 * One of two backends dies mid-run: requests caught on it before their first byte are
 * retried on the other, and each accepted request ends with exactly one ledger row.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UsageLedgerTable } from '../../core/db/schema.js';
import { createApiKey } from '../../core/tenancy/api-keys.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { type FakeOllama, startFakeOllama } from '../fakes/ollama.js';
import { testConfig } from '../helpers/config.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let a: FakeOllama;
let b: FakeOllama;
let proxy: TestProxy;

beforeAll(async () => {
  t = tempDb();
  a = await startFakeOllama({ firstChunkDelayMs: 40 });
  b = await startFakeOllama({ firstChunkDelayMs: 40 });
  proxy = await startTestProxy(t.db, testConfig(t.dir, { OLLAMA_URLS: `${a.url},${b.url}`, OLLAMA_SLOTS: '2' }), {
    healthIntervalMs: 100,
    healthTimeoutMs: 5_000, // a stalled test process must not take a live backend out
  });
});

afterAll(async () => {
  await proxy.close();
  await a.close();
  await b.close();
  await t.cleanup();
});

it('no accepted request is lost or double-counted when a backend dies mid-run', async () => {
  const tenant = await createTenant(
    t.db,
    t.sealer,
    { name: 'Fail Co', slug: 'fail', planId: 'enterprise' },
    { actor: 'test' },
  );
  const { key } = await createApiKey(t.db, tenant.id, { name: 'load' }, { actor: 'test' });
  const total = 60;
  let done = 0;
  let next = 0;
  const results: { status: number; requestId: string | null; content: string }[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < total) {
        const i = next++;
        if (i === 20) a.setDown(true); // backend A dies with requests in flight on it
        const res = await fetch(`${proxy.url}/api/chat`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({
            model: 'llama3.1:8b',
            messages: [{ role: 'user', content: `question ${i}` }],
            stream: false,
          }),
        });
        const body = (await res.json()) as { message?: { content: string } };
        results.push({
          status: res.status,
          requestId: res.headers.get('x-request-id'),
          content: body.message?.content ?? '',
        });
        done++;
      }
    }),
  );
  expect(done).toBe(total);
  expect(results.filter((r) => r.status !== 200)).toEqual([]);
  expect(results.every((r) => r.content.length > 0)).toBe(true);
  const rows = t.db.sqlite
    .prepare('SELECT * FROM usage_ledger WHERE tenant_id = ?')
    .all(tenant.id) as UsageLedgerTable[];
  // Exactly one row per request, all ok: a retried request is not billed twice.
  expect(rows).toHaveLength(total);
  expect(new Set(rows.map((r) => r.request_id))).toEqual(new Set(results.map((r) => r.requestId)));
  expect(rows.every((r) => r.status === 'ok')).toBe(true);
  // Every request the backends finished is one the proxy billed, and none twice.
  const finished = [...a.requests, ...b.requests].filter((r) => r.path === '/api/chat' && r.finished).length;
  expect(finished).toBeGreaterThanOrEqual(total);
  expect(rows.filter((r) => r.backend === new URL(b.url).host).length).toBeGreaterThan(total - 20);
  expect(proxy.proxy.pool.states().find((s) => s.url === a.url)?.healthy).toBe(false);
}, 60_000);
