import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './index.js';

/** Folder of the timestamped, append-only SQL migrations. */
export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

const FILE_PATTERN = /^(\d{8}T\d{6})_[\w-]+\.sql$/;

/** Thrown when a migration fails; names the migration. None of the pending ones is applied. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies pending migrations and returns the names applied (empty when up to date).
 *
 * All pending files run in one `BEGIN IMMEDIATE` transaction: the three services may start
 * at once against one file, and the write lock makes the second wait (busy timeout) and
 * then find nothing left to do. Kysely's Migrator does not wrap SQLite DDL in a transaction
 * and its SQLite lock is a no-op, so a half-applied file or a race would be possible there.
 */
export function migrate(db: Db, dir: string = MIGRATIONS_DIR): string[] {
  const files = readdirSync(dir)
    .filter((f) => FILE_PATTERN.test(f))
    .sort();
  const { sqlite } = db;
  sqlite.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const apply = sqlite.transaction(() => {
    const done = new Set(sqlite.prepare('SELECT name FROM schema_migrations').pluck().all() as string[]);
    const applied: string[] = [];
    for (const file of files) {
      const name = file.replace(/\.sql$/, '');
      if (done.has(name)) continue;
      try {
        sqlite.exec(readFileSync(path.join(dir, file), 'utf8'));
      } catch (err) {
        throw new MigrationError(`migration ${name} failed: ${(err as Error).message}`, { cause: err });
      }
      sqlite.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(name, Date.now());
      applied.push(name);
    }
    return applied;
  });
  return apply.immediate();
}

/** Names of the migration files not yet applied (for `/readyz` and `anvil migrate --json`). */
export function pendingMigrations(db: Db, dir: string = MIGRATIONS_DIR): string[] {
  const exists = db.sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  const done = new Set(
    exists ? (db.sqlite.prepare('SELECT name FROM schema_migrations').pluck().all() as string[]) : [],
  );
  return readdirSync(dir)
    .filter((f) => FILE_PATTERN.test(f))
    .map((f) => f.replace(/\.sql$/, ''))
    .filter((n) => !done.has(n))
    .sort();
}
