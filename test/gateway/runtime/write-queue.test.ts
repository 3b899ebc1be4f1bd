/** The gateway's batched conversation writes: one transaction per turn, never blocking on a busy lock. */
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WriteQueue } from '../../../gateway/runtime/write-queue.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

let t: TempDb;
let queue: WriteQueue;
const insertPlan = (id: string) =>
  t.db.sqlite
    .prepare(
      "INSERT INTO plans (id, name, features, allowed_models, default_model, embed_model, weight, created_at, updated_at) VALUES (?, ?, '[]', '[]', 'm', 'e', 1, 0, 0)",
    )
    .run(id, id);
const plans = () =>
  (t.db.sqlite.prepare("SELECT count(*) AS n FROM plans WHERE id LIKE 'q-%'").get() as { n: number }).n;

beforeEach(() => {
  t = tempDb();
  queue = new WriteQueue(t.db);
});
afterEach(async () => {
  await t.cleanup();
});

describe('WriteQueue', () => {
  it('commits the writes of one event-loop turn in one transaction and resolves each with its result', async () => {
    // Another connection sees none of the batch until its one commit.
    const other = new SQLite(t.db.sqlite.name, { readonly: true });
    const seenByOther = () =>
      (other.prepare("SELECT count(*) AS n FROM plans WHERE id LIKE 'q-%'").get() as { n: number }).n;
    let seenDuringBatch = -1;
    const results = await Promise.all([
      queue.write(() => insertPlan('q-1').changes),
      queue.write(() => insertPlan('q-2').changes),
      queue.write(() => {
        seenDuringBatch = seenByOther();
        return insertPlan('q-3').changes;
      }),
    ]);
    expect(results).toEqual([1, 1, 1]);
    expect(seenDuringBatch).toBe(0);
    expect(seenByOther()).toBe(3);
    other.close();
  });

  it('rejects a failing write alone; the others of its batch are kept', async () => {
    const outcomes = await Promise.allSettled([
      queue.write(() => insertPlan('q-a')),
      queue.write(() => insertPlan('q-a')), // duplicate primary key
      queue.write(() => insertPlan('q-b')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(plans()).toBe(2);
  });

  it('waits for a lock another process holds without blocking the event loop, then commits', async () => {
    const other = new SQLite(t.db.sqlite.name);
    other.exec('BEGIN IMMEDIATE');
    const written = queue.write(() => insertPlan('q-late'));
    // The event loop keeps turning while the lock is held (SQLite's busy handler would sleep on it).
    const started = Date.now();
    let ticks = 0;
    while (Date.now() - started < 150) {
      await new Promise((r) => setTimeout(r, 5));
      ticks++;
    }
    // A blocked loop turns once (after the busy handler gave up); a free one many times,
    // fewer on a loaded machine, so the bound is low.
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(plans()).toBe(0);
    other.exec('COMMIT');
    other.close();
    await written;
    expect(plans()).toBe(1);
    // The connection's own busy timeout is back for everything else.
    expect(t.db.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
  });
});
