import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, databasePath, openDb } from '../../core/db/index.js';
import { MIGRATIONS_DIR, MigrationError, migrate, pendingMigrations } from '../../core/db/migrate.js';
import { childScript, coreModule } from './child-process.js';

/** Every migration shipped, in order (new files must not break these tests). */
const ALL = readdirSync(MIGRATIONS_DIR)
  .filter((f) => /^\d{8}T\d{6}_[\w-]+\.sql$/.test(f))
  .sort()
  .map((f) => f.replace(/\.sql$/, ''));
const BAD = '20991231T235959_broken';

let dir: string;
let opened: Db[];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'anvil-migrate-'));
  opened = [];
});
afterEach(async () => {
  for (const db of opened) await db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a database file in the test directory, closed after the test. */
function open(name = 'anvil.sqlite'): Db {
  const db = openDb(path.join(dir, name));
  opened.push(db);
  return db;
}

/** A migrations folder holding copies of the real migrations plus extra files. */
function migrationsWith(extra: Record<string, string>): string {
  const folder = path.join(dir, 'migrations');
  mkdirSync(folder, { recursive: true });
  for (const f of readdirSync(MIGRATIONS_DIR)) copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(folder, f));
  for (const [name, body] of Object.entries(extra)) writeFileSync(path.join(folder, name), body);
  return folder;
}

const tableExists = (db: Db, name: string): boolean =>
  db.sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

const appliedNames = (db: Db): string[] =>
  db.sqlite.prepare('SELECT name FROM schema_migrations ORDER BY name').pluck().all() as string[];

describe('openDb', () => {
  it('sets WAL mode, foreign keys and a busy timeout', () => {
    const db = open();
    expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.sqlite.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(1000);
  });

  it('switches a new file to WAL while another service is writing to it, once the write ends', async () => {
    // Another service holds the write lock on a file still in rollback mode, as when all
    // three services start on an empty data directory at once. SQLite refuses the switch
    // to WAL at once then (it does not wait out the busy timeout), so openDb must retry.
    const file = path.join(dir, 'busy.sqlite');
    const writer = new Worker(
      [
        "const SQLite = require('better-sqlite3');",
        `const db = new SQLite(${JSON.stringify(file)});`,
        "db.exec('CREATE TABLE t (x)');",
        "db.exec('BEGIN IMMEDIATE');",
        "require('node:worker_threads').parentPort.postMessage('locked');",
        "setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1000);",
      ].join('\n'),
      { eval: true },
    );
    await once(writer, 'message');
    const db = openDb(file);
    opened.push(db);
    expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    await once(writer, 'exit');
  });

  it('enforces foreign keys', () => {
    const db = open();
    migrate(db);
    expect(() =>
      db.sqlite
        .prepare(
          "INSERT INTO tenant_users (id, tenant_id, display_name, created_at, updated_at) VALUES ('u', 'nope', 'x', 0, 0)",
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
  });

  it('runs transactions with the write lock, so a read-then-write transaction survives another writer', () => {
    const db = open();
    migrate(db);
    const other = open();
    other.sqlite.pragma('busy_timeout = 0');
    const otherWrite = () =>
      other.sqlite.prepare("INSERT INTO audit_log (at, actor, action) VALUES (1, 'system', 'other')").run();
    db.transaction(() => {
      db.all(db.kysely.selectFrom('tenants').selectAll());
      // Another service tries to commit between our read and our write: it must wait.
      expect(otherWrite).toThrow(/locked|busy/i);
      db.run(db.kysely.insertInto('audit_log').values({ at: 2, actor: 'cli', action: 'mine', tenant_id: null }));
    });
    otherWrite();
    const actions = db.sqlite.prepare('SELECT action FROM audit_log ORDER BY id').pluck().all();
    expect(actions).toEqual(['mine', 'other']);
  });

  it('rolls a transaction back whole when it throws', () => {
    const db = open();
    migrate(db);
    expect(() =>
      db.transaction(() => {
        db.run(db.kysely.insertInto('audit_log').values({ at: 1, actor: 'cli', action: 'first', tenant_id: null }));
        throw new Error('second step failed');
      }),
    ).toThrow('second step failed');
    expect(db.sqlite.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(0);
  });

  it('close() closes the connection even when only raw SQLite was used, and may be called twice', async () => {
    const db = openDb(path.join(dir, 'closing.sqlite'));
    migrate(db);
    await db.close();
    expect(db.sqlite.open).toBe(false);
    await db.close();
    const used = openDb(path.join(dir, 'closing.sqlite'));
    await used.kysely.selectFrom('tenants').selectAll().execute();
    await used.close();
    expect(used.sqlite.open).toBe(false);
  });

  it('puts the database file inside the data directory', () => {
    expect(databasePath('/srv/anvil')).toBe(path.join('/srv/anvil', 'anvil.sqlite'));
  });
});

describe('migrate', () => {
  it('applies the initial migration once and is idempotent', () => {
    const db = open();
    expect(migrate(db)).toEqual(ALL);
    expect(appliedNames(db)).toEqual(ALL);
    for (const t of ['tenants', 'tenant_users', 'usage_ledger', 'usage_daily', 'sealed_secrets', 'audit_log']) {
      expect(tableExists(db, t), t).toBe(true);
    }
    expect(migrate(db)).toEqual([]);
    expect(appliedNames(db)).toEqual(ALL);
  });

  it('applies only what a reopened database lacks', () => {
    migrate(open());
    const folder = migrationsWith({ '20991231T000000_notes.sql': 'CREATE TABLE notes (id TEXT PRIMARY KEY);' });
    const again = open();
    expect(migrate(again, folder)).toEqual(['20991231T000000_notes']);
    expect(tableExists(again, 'notes')).toBe(true);
    expect(migrate(again, folder)).toEqual([]);
  });

  it('ignores files that are not timestamped SQL migrations', () => {
    const folder = migrationsWith({ 'README.md': '# not SQL', 'notes.sql': 'this is not SQL at all' });
    expect(migrate(open(), folder)).toEqual(ALL);
  });

  it('leaves no part of a broken migration applied, and names it', () => {
    const db = open();
    migrate(db);
    const folder = migrationsWith({
      [`${BAD}.sql`]:
        'CREATE TABLE half_done (id TEXT);\nINSERT INTO half_done VALUES (1);\nSELECT * FROM no_such_table;',
    });
    let error: unknown;
    try {
      migrate(db, folder);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain(BAD);
    expect((error as Error).message).toContain('no_such_table');
    expect(tableExists(db, 'half_done')).toBe(false);
    expect(appliedNames(db)).toEqual(ALL);
    expect(pendingMigrations(db, folder)).toEqual([BAD]);
    // The database stays usable after the failure.
    expect(db.sqlite.prepare('SELECT count(*) FROM tenants').pluck().get()).toBe(0);
  });

  it('applies none of the pending migrations when one of them fails', () => {
    const db = open();
    const folder = migrationsWith({ [`${BAD}.sql`]: 'CREATE TABLE half_done (id TEXT);\nTHIS IS NOT SQL;' });
    expect(() => migrate(db, folder)).toThrow(MigrationError);
    expect(tableExists(db, 'tenants')).toBe(false);
    expect(tableExists(db, 'half_done')).toBe(false);
    expect(appliedNames(db)).toEqual([]);
    expect(pendingMigrations(db, folder)).toEqual([...ALL, BAD]);
  });

  it('applies the schema exactly once when two processes migrate a fresh file at once', async () => {
    const file = path.join(dir, 'shared.sqlite');
    const run = childScript(
      dir,
      'migrate-child',
      [
        `import { openDb } from ${coreModule('db/index.ts')};`,
        `import { migrate } from ${coreModule('db/migrate.ts')};`,
        'await startTogether();',
        'const db = openDb(process.env.DB_FILE as string);',
        'const applied = migrate(db);',
        'await db.close();',
        'process.stdout.write(JSON.stringify(applied));',
      ].join('\n'),
    );
    const env = { DB_FILE: file };
    const results = await run([env, env]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const applied = results.map((r) => JSON.parse(r.stdout) as string[]);
    expect(applied.flat()).toEqual(ALL);
    expect(applied.filter((a) => a.length === 0)).toHaveLength(1);

    const db = open('shared.sqlite');
    expect(appliedNames(db)).toEqual(ALL);
    expect(tableExists(db, 'tenants')).toBe(true);
  });
});

describe('pendingMigrations', () => {
  it('lists every migration of a fresh file, and none after migrate', () => {
    const db = open();
    expect(pendingMigrations(db)).toEqual(ALL);
    // Asking does not create anything.
    expect(tableExists(db, 'schema_migrations')).toBe(false);
    migrate(db);
    expect(pendingMigrations(db)).toEqual([]);
  });

  it('lists new files in order', () => {
    const db = open();
    migrate(db);
    const folder = migrationsWith({
      '20991231T000002_b.sql': 'SELECT 1;',
      '20991231T000001_a.sql': 'SELECT 1;',
      'draft.sql': 'SELECT 1;',
    });
    expect(pendingMigrations(db, folder)).toEqual(['20991231T000001_a', '20991231T000002_b']);
    expect(migrate(db, folder)).toEqual(['20991231T000001_a', '20991231T000002_b']);
    expect(pendingMigrations(db, folder)).toEqual([]);
  });
});
