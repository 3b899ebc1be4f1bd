import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCheckpointer } from '../../core/db/checkpointer.js';
import { type Db, openDb } from '../../core/db/index.js';

let dir: string;
let db: Db | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const fill = (d: Db, megabytes: number) => {
  d.sqlite.exec('CREATE TABLE IF NOT EXISTS filler (x TEXT)');
  const insert = d.sqlite.prepare('INSERT INTO filler (x) VALUES (?)');
  // Many small commits, as a service makes them: each one is where SQLite would checkpoint.
  for (let i = 0; i < megabytes * 64; i++) insert.run('x'.repeat(16 * 1024));
};

describe('background WAL checkpoints', () => {
  it('commits never copy the WAL into the file themselves', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-checkpoint-'));
    const file = path.join(dir, 'db.sqlite');
    // An interval far longer than the test: any copy into the file would be a commit's.
    db = openDb(file, { backgroundCheckpointMs: 60_000 });
    expect(db.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    fill(db, 6); // past 1,000 pages, where the automatic checkpoint would have run in a commit
    expect(statSync(file).size).toBeLessThan(1024 * 1024);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(6 * 1024 * 1024);
  });

  it('the thread copies the WAL into the file within its interval', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-checkpoint-'));
    const file = path.join(dir, 'db.sqlite');
    db = openDb(file, { backgroundCheckpointMs: 200 });
    fill(db, 6);
    // Polled with a generous deadline: a loaded machine may start the thread late.
    for (let i = 0; i < 500 && statSync(file).size <= 6 * 1024 * 1024; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(statSync(file).size).toBeGreaterThan(6 * 1024 * 1024);
  });

  it('without it (the CLI), SQLite checkpoints inside the commits as usual', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-checkpoint-'));
    const file = path.join(dir, 'db.sqlite');
    db = openDb(file);
    fill(db, 6);
    expect(statSync(file).size).toBeGreaterThan(3 * 1024 * 1024);
  });

  it('a thread that cannot open the database reports it as fatal (openDb then turns the automatic checkpoint back on)', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-checkpoint-'));
    const failures: { message: string; fatal: boolean }[] = [];
    const thread = startCheckpointer(path.join(dir, 'missing', 'db.sqlite'), 50, (message, fatal) =>
      failures.push({ message, fatal }),
    );
    for (let i = 0; i < 100 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(failures[0]).toMatchObject({ fatal: true, message: expect.stringMatching(/unable to open|directory/i) });
    await thread.stop();
  });
});
