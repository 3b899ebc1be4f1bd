import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import type { Database } from './schema.js';

export type { Database } from './schema.js';

/** An open Anvil database: the typed Kysely handle and the raw connection beneath it. */
export interface Db {
  /** Typed queries. */
  kysely: Kysely<Database>;
  /** The synchronous connection, for short transactions on hot paths (metering). */
  sqlite: SQLite.Database;
  /** Closes the connection; further use throws. */
  close(): Promise<void>;
}

/** The SQLite file inside a data directory. */
export function databasePath(dataDir: string): string {
  return path.join(dataDir, 'anvil.sqlite');
}

/**
 * Kysely's SQLite driver begins transactions DEFERRED: one that reads and then writes fails
 * at once with SQLITE_BUSY ("database is locked") when another service committed in between,
 * and the busy timeout does not help. BEGIN IMMEDIATE takes the write lock up front, so
 * concurrent writers wait their turn instead (as `migrate` does).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** The SQLite dialect with `ImmediateSqliteDriver`. */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/**
 * Opens (creating if needed) the SQLite database in WAL mode with foreign keys on and a
 * busy timeout, so the app, the gateway and the model proxy may share one file.
 */
export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL'); // durable across process crashes in WAL mode
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
    kysely,
    sqlite,
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy(); // closes the better-sqlite3 connection, but only if Kysely was ever used
      if (sqlite.open) sqlite.close();
    },
  };
}

/** Current time in epoch milliseconds; one place so tests read one clock. */
export const now = (): number => Date.now();
