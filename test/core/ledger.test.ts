import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/db/schema.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { UsageLedger, type UsageRecord, usageReport, utcDay } from '../../core/usage/ledger.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let a: Tenant;
let b: Tenant;
let ledger: UsageLedger;

beforeEach(async () => {
  t = tempDb();
  a = await createTenant(t.db, t.sealer, { name: 'Alpha', slug: 'alpha' }, { actor: 'cli' });
  b = await createTenant(t.db, t.sealer, { name: 'Beta', slug: 'beta' }, { actor: 'cli' });
  ledger = new UsageLedger(t.db);
});
afterEach(async () => {
  await t.cleanup();
});

const at = (day: string, time = '12:00:00'): number => Date.parse(`${day}T${time}Z`);

let seq = 0;
/** A usage record with sensible defaults. */
const rec = (over: Partial<UsageRecord> = {}): UsageRecord => ({
  requestId: `req-${++seq}`,
  tenantId: a.id,
  userId: 'user-1',
  apiKeyId: null,
  model: 'llama3.1:8b',
  endpoint: '/api/chat',
  promptTokens: 100,
  completionTokens: 20,
  status: 'ok',
  backend: 'http://127.0.0.1:11434',
  startedAt: at('2026-03-10'),
  durationMs: 1234,
  costMicros: 7,
  exact: true,
  ...over,
});

interface DailyRow {
  tenant_id: string;
  day: string;
  user_id: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
}
const daily = (): DailyRow[] =>
  t.db.sqlite.prepare('SELECT * FROM usage_daily ORDER BY tenant_id, day, user_id, model').all() as DailyRow[];
const ledgerCount = (): number => t.db.sqlite.prepare('SELECT count(*) FROM usage_ledger').pluck().get() as number;

describe('UsageLedger.record', () => {
  it('writes one ledger row and its daily rollup', () => {
    ledger.record(rec({ requestId: 'r1', apiKeyId: 'key1', exact: false, status: 'aborted', error: 'client left' }));
    const row = t.db.sqlite.prepare('SELECT * FROM usage_ledger').get();
    expect(row).toEqual({
      request_id: 'r1',
      tenant_id: a.id,
      user_id: 'user-1',
      api_key_id: 'key1',
      model: 'llama3.1:8b',
      endpoint: '/api/chat',
      prompt_tokens: 100,
      completion_tokens: 20,
      status: 'aborted',
      error: 'client left',
      backend: 'http://127.0.0.1:11434',
      started_at: at('2026-03-10'),
      duration_ms: 1234,
      cost_micros: 7,
      exact: 0,
    });
    expect(daily()).toEqual([
      {
        tenant_id: a.id,
        day: '2026-03-10',
        user_id: 'user-1',
        model: 'llama3.1:8b',
        requests: 1,
        prompt_tokens: 100,
        completion_tokens: 20,
        cost_micros: 7,
      },
    ]);
  });

  it('sums many records for the same tenant, day, user and model', () => {
    for (let i = 0; i < 250; i++) {
      ledger.record(
        rec({
          promptTokens: i,
          completionTokens: 2 * i,
          costMicros: 3,
          startedAt: at('2026-03-10', '00:00:00') + i * 60_000,
        }),
      );
    }
    const sum = (249 * 250) / 2;
    expect(ledgerCount()).toBe(250);
    expect(daily()).toEqual([
      expect.objectContaining({ requests: 250, prompt_tokens: sum, completion_tokens: 2 * sum, cost_micros: 750 }),
    ]);
  });

  it('keeps separate rollups per day (UTC), user and model; a keyed request without user rolls up under ""', () => {
    ledger.record(rec({ startedAt: at('2026-03-10', '23:59:59') }));
    ledger.record(rec({ startedAt: at('2026-03-11', '00:00:00') }));
    ledger.record(rec({ userId: 'user-2' }));
    ledger.record(rec({ model: 'qwen3:14b' }));
    ledger.record(rec({ userId: null, apiKeyId: 'key1' }));
    ledger.record(rec({ tenantId: b.id }));
    const rows = daily();
    expect(rows).toHaveLength(6);
    expect(rows.filter((r) => r.tenant_id === a.id).map((r) => [r.day, r.user_id, r.model, r.requests])).toEqual(
      expect.arrayContaining([
        ['2026-03-10', 'user-1', 'llama3.1:8b', 1],
        ['2026-03-11', 'user-1', 'llama3.1:8b', 1],
        ['2026-03-10', 'user-2', 'llama3.1:8b', 1],
        ['2026-03-10', 'user-1', 'qwen3:14b', 1],
        ['2026-03-10', '', 'llama3.1:8b', 1],
      ]),
    );
    expect(t.db.sqlite.prepare('SELECT user_id FROM usage_ledger WHERE api_key_id = ?').pluck().get('key1')).toBeNull();
  });

  it('refuses a duplicate request id and leaves the rollup unchanged', () => {
    ledger.record(rec({ requestId: 'dup', promptTokens: 10, completionTokens: 1 }));
    const before = daily();
    expect(() => ledger.record(rec({ requestId: 'dup', promptTokens: 999, completionTokens: 999 }))).toThrow(
      /UNIQUE|PRIMARY KEY/,
    );
    expect(daily()).toEqual(before);
    expect(ledgerCount()).toBe(1);
    expect(before[0]).toMatchObject({ requests: 1, prompt_tokens: 10 });
  });

  it('writes no ledger row when its rollup fails', () => {
    t.db.sqlite.exec(
      "CREATE TRIGGER fail_rollup BEFORE INSERT ON usage_daily WHEN NEW.model = 'broken' BEGIN SELECT RAISE(ABORT, 'rollup failed'); END",
    );
    ledger.record(rec({ requestId: 'good' }));
    expect(() => ledger.record(rec({ requestId: 'bad', model: 'broken' }))).toThrow(/rollup failed/);
    expect(t.db.sqlite.prepare('SELECT request_id FROM usage_ledger').pluck().all()).toEqual(['good']);
    expect(daily()).toHaveLength(1);
  });

  it('refuses usage of an unknown tenant', () => {
    expect(() => ledger.record(rec({ tenantId: 'no-such-tenant' }))).toThrow(/FOREIGN KEY/);
    expect(ledgerCount()).toBe(0);
    expect(daily()).toEqual([]);
  });
});

describe('UsageLedger.queue', () => {
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it('commits the rows queued in one turn together after it, with one rollup per tenant, day, user and model', async () => {
    ledger.queue(rec({ promptTokens: 10, completionTokens: 1, costMicros: 3 }));
    ledger.queue(rec({ promptTokens: 20, completionTokens: 2, costMicros: 4 }));
    ledger.queue(rec({ userId: null, promptTokens: 5, completionTokens: 5 }));
    ledger.queue(rec({ startedAt: at('2026-03-11'), promptTokens: 1, completionTokens: 1 }));
    expect(ledgerCount()).toBe(0); // nothing written during the turn
    await nextTurn();
    expect(ledgerCount()).toBe(4);
    expect(daily().map((d) => [d.day, d.user_id, d.requests, d.prompt_tokens, d.completion_tokens])).toEqual([
      ['2026-03-10', '', 1, 5, 5],
      ['2026-03-10', 'user-1', 2, 30, 3],
      ['2026-03-11', 'user-1', 1, 1, 1],
    ]);
    expect(daily().find((d) => d.user_id === 'user-1' && d.day === '2026-03-10')?.cost_micros).toBe(7);
    // A later batch adds to the same rollups.
    ledger.queue(rec({ promptTokens: 100, completionTokens: 10 }));
    await nextTurn();
    expect(daily().find((d) => d.user_id === 'user-1' && d.day === '2026-03-10')).toMatchObject({
      requests: 3,
      prompt_tokens: 130,
    });
  });

  it('flush commits at once (before usage is read, and on shutdown)', () => {
    ledger.queue(rec());
    ledger.flush();
    expect(ledgerCount()).toBe(1);
  });

  it('a batch that fails is rolled back whole and reported, and later batches still commit', async () => {
    const failed: string[][] = [];
    const reporting = new UsageLedger(t.db, (_err, rows) => failed.push(rows.map((r) => r.requestId)));
    const good = rec();
    reporting.queue(good);
    reporting.queue(rec({ requestId: good.requestId })); // duplicate id: the whole batch fails
    await nextTurn();
    expect(failed).toEqual([[good.requestId, good.requestId]]);
    expect(ledgerCount()).toBe(0);
    expect(daily()).toEqual([]);
    reporting.queue(rec());
    await nextTurn();
    expect(ledgerCount()).toBe(1);
  });
});

describe('usageReport', () => {
  it("sums one tenant's rollups over an inclusive range of days, per model", async () => {
    ledger.record(
      rec({ startedAt: at('2026-03-01', '00:00:00'), promptTokens: 1, completionTokens: 2, costMicros: 3 }),
    );
    ledger.record(
      rec({ startedAt: at('2026-03-05'), userId: 'user-2', promptTokens: 10, completionTokens: 20, costMicros: 30 }),
    );
    ledger.record(
      rec({
        startedAt: at('2026-03-31', '23:59:59'),
        model: 'qwen3:14b',
        promptTokens: 100,
        completionTokens: 200,
        costMicros: 300,
      }),
    );
    // Outside the range.
    ledger.record(rec({ startedAt: at('2026-02-28', '23:59:59'), promptTokens: 5_000 }));
    ledger.record(rec({ startedAt: at('2026-04-01', '00:00:00'), promptTokens: 6_000 }));
    // Another tenant, inside the range.
    ledger.record(rec({ tenantId: b.id, startedAt: at('2026-03-05'), promptTokens: 7_000, model: 'other:1b' }));

    const r = await usageReport(t.db, a.id, '2026-03-01', '2026-03-31');
    expect(r.tenantId).toBe(a.id);
    expect(r.from).toBe('2026-03-01');
    expect(r.to).toBe('2026-03-31');
    expect(r.totals).toEqual({ requests: 3, prompt_tokens: 111, completion_tokens: 222, cost_micros: 333 });
    expect(r.byModel).toEqual([
      { model: 'llama3.1:8b', requests: 2, prompt_tokens: 11, completion_tokens: 22, cost_micros: 33 },
      { model: 'qwen3:14b', requests: 1, prompt_tokens: 100, completion_tokens: 200, cost_micros: 300 },
    ]);

    const other = await usageReport(t.db, b.id, '2026-03-01', '2026-03-31');
    expect(other.totals.prompt_tokens).toBe(7_000);
    expect(other.byModel.map((m) => m.model)).toEqual(['other:1b']);

    const oneDay = await usageReport(t.db, a.id, '2026-03-05', '2026-03-05');
    expect(oneDay.totals).toEqual({ requests: 1, prompt_tokens: 10, completion_tokens: 20, cost_micros: 30 });
  });

  it('reports zeros for a range without usage', async () => {
    ledger.record(rec());
    const r = await usageReport(t.db, a.id, '2025-01-01', '2025-12-31');
    expect(r.totals).toEqual({ requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0 });
    expect(r.byModel).toEqual([]);
  });
});

describe('utcDay', () => {
  it('names the UTC day of a time', () => {
    expect(utcDay(Date.UTC(2026, 0, 1, 23, 59, 59, 999))).toBe('2026-01-01');
    expect(utcDay(Date.UTC(2026, 0, 2))).toBe('2026-01-02');
  });

  it('names the right day when asked about days out of order (its one-day cache)', () => {
    const days = [Date.UTC(2026, 5, 1, 12), Date.UTC(2026, 5, 1, 23, 59), Date.UTC(2026, 4, 31, 23, 59, 59, 999)];
    days.push(Date.UTC(2026, 5, 2), Date.UTC(2026, 5, 1), Date.UTC(1969, 11, 31, 12), Date.UTC(2026, 5, 1, 6));
    expect(days.map(utcDay)).toEqual([
      '2026-06-01',
      '2026-06-01',
      '2026-05-31',
      '2026-06-02',
      '2026-06-01',
      '1969-12-31',
      '2026-06-01',
    ]);
  });
});
