/**
 * The proxy's two promises to the operator, end to end over HTTP: every token counted once
 * (also when clients leave mid-stream), and budgets that concurrent requests cannot overshoot.
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageLedgerTable } from '../../core/db/schema.js';
import { createApiKey } from '../../core/tenancy/api-keys.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { type FakeOllama, startFakeOllama } from '../fakes/ollama.js';
import { testConfig } from '../helpers/config.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let fake: FakeOllama;
let proxy: TestProxy;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  t = tempDb();
  fake = await startFakeOllama({ tokens: 40, chunkDelayMs: 1 });
  proxy = await startTestProxy(t.db, testConfig(t.dir, { OLLAMA_URLS: fake.url, OLLAMA_SLOTS: '64' }), {
    maxQueuedPerTenant: 1_000,
  });
});

afterAll(async () => {
  agent.destroy();
  await proxy.close();
  await fake.close();
  await t.cleanup();
});

/** Streams one chat; reads `stopAfter` lines and then drops the connection, or reads to the end. */
function chat(
  key: string,
  content: string,
  stopAfter?: number,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; requestId: string; lines: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${proxy.url}/api/chat`,
      {
        method: 'POST',
        agent: stopAfter === undefined ? agent : false,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      },
      (res) => {
        const requestId = String(res.headers['x-request-id']);
        let lines = 0;
        res.on('data', (chunk: Buffer) => {
          lines += chunk.toString().split('\n').filter(Boolean).length;
          if (stopAfter !== undefined && lines >= stopAfter) res.destroy();
        });
        res.on('close', () => resolve({ status: res.statusCode ?? 0, requestId, lines }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content }], ...extra }));
  });
}

const ledgerRows = () => t.db.sqlite.prepare('SELECT * FROM usage_ledger').all() as UsageLedgerTable[];

describe('metering', () => {
  it('2,000 streamed requests, a tenth dropped by the client at random points: the ledger equals what the backend emitted, request by request', async () => {
    const tenant = await createTenant(
      t.db,
      t.sealer,
      { name: 'Meter Co', slug: 'meter', planId: 'enterprise' },
      { actor: 'test' },
    );
    const { key } = await createApiKey(t.db, tenant.id, { name: 'load' }, { actor: 'test' });
    const total = 2_000;
    const plan = Array.from({ length: total }, (_, i) => ({
      content: `request ${i}: ${'how much does a steel beam weigh '.repeat(1 + (i % 7))}`,
      stopAfter: i % 10 === 3 ? 1 + Math.floor(Math.random() * 15) : undefined,
    }));
    const results: { status: number; requestId: string; lines: number }[] = new Array(total);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          const i = next++;
          const p = plan[i]!;
          results[i] = await chat(key, p.content, p.stopAfter);
        }
      }),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Rows of dropped streams are written once the backend has stopped: wait for all.
    for (let i = 0; i < 500 && ledgerRows().filter((r) => r.tenant_id === tenant.id).length < total; i++)
      await new Promise((r) => setTimeout(r, 20));

    const rows = new Map(ledgerRows().map((r) => [r.request_id, r]));
    const emitted = new Map(
      fake.requests
        .filter((r) => r.path === '/api/chat')
        .map((r) => [(r.body as { messages: { content: string }[] }).messages[0]?.content, r]),
    );
    let aborted = 0;
    let lateDrops = 0;
    for (let i = 0; i < total; i++) {
      const row = rows.get(results[i]!.requestId);
      const seen = emitted.get(plan[i]!.content);
      expect(row, `ledger row of request ${i}`).toBeDefined();
      expect(seen, `backend record of request ${i}`).toBeDefined();
      expect(row!.completion_tokens, `completion tokens of request ${i}`).toBe(seen!.evalCount);
      if (plan[i]!.stopAfter === undefined) {
        expect(row).toMatchObject({ status: 'ok', exact: 1, prompt_tokens: seen!.promptEvalCount });
      } else if (seen!.finished) {
        // The whole answer reached the proxy before the client's drop did (a loaded
        // machine): the backend produced it all, so it is billed in full.
        lateDrops++;
        expect(row, `dropped request ${i} that the backend finished`).toMatchObject({ status: 'ok', exact: 1 });
      } else {
        aborted++;
        expect(row!.status, `status of dropped request ${i}`).toBe('aborted');
      }
    }
    expect(aborted + lateDrops).toBe(200);
    // Each answer has 40 tokens and the client drops after 1 to 15 lines: nearly every
    // drop must reach the backend mid-answer, or this test is not testing aborts.
    expect(aborted).toBeGreaterThanOrEqual(180);
    const day = t.db.sqlite
      .prepare('SELECT sum(requests) AS n, sum(completion_tokens) AS out FROM usage_daily WHERE tenant_id = ?')
      .get(tenant.id) as { n: number; out: number };
    expect(day.n).toBe(total);
    expect(day.out).toBe(
      [...rows.values()].filter((r) => r.tenant_id === tenant.id).reduce((s, r) => s + r.completion_tokens, 0),
    );
  }, 120_000);
});

describe('budgets', () => {
  it('200 concurrent requests against a budget that fits 20: 20 admitted, the budget never exceeded', async () => {
    fake.configure({ tokens: 10, chunkDelayMs: 0, firstChunkDelayMs: 300 });
    try {
      const tenant = await createTenant(
        t.db,
        t.sealer,
        { name: 'Budget Co', slug: 'budget', planId: 'enterprise' },
        { actor: 'test' },
      );
      const { key } = await createApiKey(t.db, tenant.id, { name: 'load' }, { actor: 'test' });
      const content = 'x'.repeat(40); // 10 prompt tokens by the proxy's estimate and the fake's count
      const perRequest = 10 + 10; // prompt + num_predict: the reservation and what the fake produces
      t.db.sqlite.prepare('UPDATE tenants SET monthly_token_budget = ? WHERE id = ?').run(20 * perRequest, tenant.id);
      const results = await Promise.all(
        Array.from({ length: 200 }, () => chat(key, content, undefined, { options: { num_predict: 10 } })),
      );
      const admitted = results.filter((r) => r.status === 200).length;
      expect(admitted).toBe(20);
      expect(results.filter((r) => r.status === 429)).toHaveLength(180);
      const spent = ledgerRows()
        .filter((r) => r.tenant_id === tenant.id)
        .reduce((s, r) => s + r.prompt_tokens + r.completion_tokens, 0);
      expect(spent).toBeLessThanOrEqual(20 * perRequest);
      expect(spent).toBe(20 * perRequest);
    } finally {
      fake.configure({ tokens: 20, chunkDelayMs: 1, firstChunkDelayMs: 0 });
    }
  }, 60_000);
});
