/**
 * The webhook update worker on its own, with a stand-in bot: the order updates are handed
 * over in, bounded retries, and updates left unfinished by a stop being taken up again.
 */
import type { Update } from 'grammy/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { MAX_ATTEMPTS, storeUpdate } from '../../../gateway/webhooks/store.js';
import { UpdateWorker } from '../../../gateway/webhooks/worker.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';
import { until } from '../runtime/until.js';

let t: TempDb;
let worker: UpdateWorker;

const store = (updateId: number, botId = 'platform') =>
  storeUpdate(t.db, {
    botId,
    tenantId: null,
    updateId,
    payload: JSON.stringify({ update_id: updateId, message: { text: `m${updateId}` } }),
  });
const rows = () =>
  t.db.sqlite
    .prepare(
      'SELECT update_id, processed_at IS NOT NULL AS done, attempts, last_error FROM telegram_updates ORDER BY id',
    )
    .all() as { update_id: number; done: number; attempts: number; last_error: string | null }[];

beforeEach(() => {
  t = tempDb();
  worker = new UpdateWorker(t.db, createLogger('test', 'silent'), { retryDelayMs: () => 30 });
});

afterEach(async () => {
  await worker.detach('platform', 0);
  await t.cleanup();
});

describe('the webhook update worker', () => {
  it('hands stored updates to the bot in arrival order, each once, and marks them processed', async () => {
    for (const id of [10, 11, 12]) store(id);
    expect(store(11)).toBe(false); // a second delivery is not stored again
    const seen: number[] = [];
    worker.attach('platform', { handleUpdate: async (u: Update) => void seen.push(u.update_id) });
    store(13);
    worker.notify('platform');
    await until(() => rows().every((r) => r.done === 1) && seen.length === 4, 2_000, 'all processed');
    expect(seen).toEqual([10, 11, 12, 13]);
    expect(rows().map((r) => r.attempts)).toEqual([1, 1, 1, 1]);
  });

  it('only takes the updates of its own bot', async () => {
    store(1, 'other-bot');
    store(2);
    const seen: number[] = [];
    worker.attach('platform', { handleUpdate: async (u: Update) => void seen.push(u.update_id) });
    await until(() => seen.length === 1, 2_000, 'one update');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([2]);
    expect(rows()[0]).toMatchObject({ update_id: 1, done: 0, attempts: 0 });
  });

  it('retries a failing update and succeeds when the bot does', async () => {
    store(1);
    let calls = 0;
    worker.attach('platform', {
      handleUpdate: async () => {
        calls++;
        if (calls < 3) throw new Error('Telegram unreachable');
      },
    });
    await until(() => rows()[0]?.done === 1, 2_000, 'processed');
    expect(calls).toBe(3);
    expect(rows()[0]).toMatchObject({ attempts: 3, last_error: null });
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts and keeps the last error`, async () => {
    store(1);
    store(2);
    let calls = 0;
    worker.attach('platform', {
      handleUpdate: async (u: Update) => {
        if (u.update_id === 1) {
          calls++;
          throw new Error('always fails');
        }
      },
    });
    await until(() => rows()[0]?.attempts === MAX_ATTEMPTS && rows()[0]?.last_error !== null, 3_000, 'giving up');
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toBe(MAX_ATTEMPTS);
    expect(rows()).toEqual([
      { update_id: 1, done: 0, attempts: MAX_ATTEMPTS, last_error: 'Error: always fails' },
      { update_id: 2, done: 1, attempts: 1, last_error: null },
    ]);
  });

  it('an update unfinished when the bot is stopped stays unprocessed and is processed by the next attach', async () => {
    store(1);
    let release: () => void = () => undefined;
    worker.attach('platform', {
      handleUpdate: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    });
    await until(() => rows()[0]?.attempts === 1, 2_000, 'the first attempt');
    await worker.detach('platform', 50);
    release(); // finishes after the stop: not recorded, the gateway had handed it on
    await new Promise((r) => setTimeout(r, 20));
    expect(rows()[0]).toMatchObject({ done: 0, attempts: 1 });

    const seen: number[] = [];
    worker.attach('platform', { handleUpdate: async (u: Update) => void seen.push(u.update_id) });
    await until(() => rows()[0]?.done === 1, 2_000, 'processed after the restart');
    expect(seen).toEqual([1]);
    expect(rows()[0]).toMatchObject({ attempts: 2 });
  });

  it('an update that finishes within the grace period is recorded as processed', async () => {
    store(1);
    worker.attach('platform', { handleUpdate: () => new Promise<void>((r) => setTimeout(r, 50)) });
    await until(() => rows()[0]?.attempts === 1, 2_000, 'the first attempt');
    await worker.detach('platform', 1_000);
    expect(rows()[0]).toMatchObject({ done: 1, attempts: 1 });
  });
});
