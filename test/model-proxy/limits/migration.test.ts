import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { databasePath, openDb } from '../../../core/db/index.js';
import { MIGRATIONS_DIR, migrate } from '../../../core/db/migrate.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const planLimits = (t: Pick<TempDb, 'db'>) =>
  t.db.sqlite.prepare('SELECT id, requests_per_minute, tokens_per_minute FROM plans ORDER BY weight').all();

const EXPECTED = [
  { id: 'starter', requests_per_minute: 30, tokens_per_minute: 20_000 },
  { id: 'professional', requests_per_minute: 120, tokens_per_minute: 100_000 },
  { id: 'enterprise', requests_per_minute: null, tokens_per_minute: null },
];

describe('migration 20261122T040000_limits_and_prices', () => {
  it('gives the default plans of a fresh database their rate limits', () => {
    const t = tempDb();
    cleanups.push(() => t.cleanup());
    expect(planLimits(t)).toEqual(EXPECTED);
  });

  it('gives default plans seeded before it their rate limits, leaving other plans unlimited', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'anvil-limits-migration-'));
    const db = openDb(databasePath(dir));
    cleanups.push(async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const initialOnly = path.join(dir, 'initial');
    mkdirSync(initialOnly);
    copyFileSync(
      path.join(MIGRATIONS_DIR, '20261122T030000_initial.sql'),
      path.join(initialOnly, '20261122T030000_initial.sql'),
    );
    migrate(db, initialOnly);
    const insert = db.sqlite.prepare(
      `INSERT INTO plans (id, name, default_model, embed_model, weight, created_at, updated_at)
       VALUES (?, ?, 'm', 'e', ?, 0, 0)`,
    );
    insert.run('starter', 'Starter', 1);
    insert.run('professional', 'Professional', 2);
    insert.run('enterprise', 'Enterprise', 4);
    insert.run('custom', 'Custom', 8);

    expect(migrate(db)).toContain('20261122T040000_limits_and_prices');
    expect(planLimits({ db })).toEqual([
      ...EXPECTED,
      { id: 'custom', requests_per_minute: null, tokens_per_minute: null },
    ]);
    expect(() => db.sqlite.prepare("UPDATE plans SET tokens_per_minute = -1 WHERE id = 'custom'").run()).toThrow(
      /CHECK/,
    );
  });
});
