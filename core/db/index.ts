import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { type CompiledQuery, Kysely, SqliteDialect } from 'kysely';
import { type Checkpointer, startCheckpointer } from './checkpointer.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';

/** Anything Kysely can compile: a select, insert, update or delete builder. */
export interface Compilable<R> {
  compile(): CompiledQuery<R>;
}

/**
 * An open Anvil database.
 *
 * Writes that span several statements run in `transaction(fn)`: a synchronous
 * `BEGIN IMMEDIATE` transaction on the better-sqlite3 connection, built from Kysely queries
 * executed with `run` / `all` / `first`. Kysely's own async transactions are not used: they
 * hold the write lock across `await`s, so another connection in the same process (or a
 * raw statement on this one) could block the event loop against them or silently join them.
 * A synchronous transaction finishes before anything else in the process runs.
 */
export interface Db {
  /** Typed query building, and async execution of single reads. */
  kysely: Kysely<Database>;
  /** The synchronous connection beneath. */
  sqlite: SQLite.Database;
  /**
   * A prepared statement for plain SQL, made once per text: for the few queries that run
   * on every request, where Kysely's async build-compile-execute costs tens of microseconds.
   */
  prepare<Row = unknown>(sql: string): SQLite.Statement<unknown[], Row>;
  /** Runs a compiled query and returns every row. */
  all<R>(query: Compilable<R>): R[];
  /** Runs a compiled query and returns its first row, if any. */
  first<R>(query: Compilable<R>): R | undefined;
  /** Runs a compiled write and returns how many rows it changed. */
  run(query: Compilable<unknown>): number;
  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T;
  /** Closes the connection; further use throws. */
  close(): Promise<void>;
}

/** The SQLite file inside a data directory. */
export function databasePath(dataDir: string): string {
  return path.join(dataDir, 'anvil.sqlite');
}

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Switches the file to WAL mode. The switch runs inside a read transaction and needs the
 * write lock; while another connection holds that (another service starting on the same
 * fresh, rollback-journal file is writing its schema, or switching it too), SQLite answers
 * SQLITE_BUSY at once instead of waiting out the busy timeout, since a reader waiting for
 * a writer could deadlock. So the switch is tried again, for as long as the busy timeout
 * would have let it wait.
 */
function switchToWal(sqlite: SQLite.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const busy = err instanceof SQLite.SqliteError && err.code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() >= deadline) throw err;
      // A short, jittered pause, so the retries of several processes do not collide again.
      Atomics.wait(sleeper, 0, 0, 2 + Math.random() * 10);
    }
  }
}

/** How a connection is opened. */
export interface OpenOptions {
  /**
   * Checkpoint the WAL from a background thread every this many ms instead of inside
   * commits (core/db/checkpointer.ts). The long-running services use it; the CLI does not.
   */
  backgroundCheckpointMs?: number;
  /** Told when background checkpoints fail (the automatic checkpoint is then back on). */
  onCheckpointFailure?: (message: string) => void;
}

/**
 * Opens (creating if needed) the SQLite database in WAL mode with foreign keys on and a
 * busy timeout, so the app, the gateway and the model proxy may share one file.
 */
export function openDb(file: string, options: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // Every statement waits up to the busy timeout for another service's lock; the switch to
  // WAL, which SQLite does not let wait, retries for as long (switchToWal).
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  switchToWal(sqlite);
  sqlite.pragma('synchronous = NORMAL'); // durable across process crashes in WAL mode
  sqlite.pragma('foreign_keys = ON');
  let checkpointer: Checkpointer | undefined;
  if (options.backgroundCheckpointMs && file !== ':memory:') {
    sqlite.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer(file, options.backgroundCheckpointMs, (message, fatal) => {
      if (fatal && sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
      options.onCheckpointFailure?.(message);
    });
  }

  // Prepared statements by SQL text: the same few queries run on every request.
  const statements = new Map<string, SQLite.Statement>();
  const prepare = (sql: string): SQLite.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = sqlite.prepare(sql);
      if (statements.size > 500) statements.clear();
      statements.set(sql, stmt);
    }
    return stmt;
  };
  const params = (q: CompiledQuery<unknown>) => q.parameters as unknown[];
  // Kysely's own queries share the statement cache (its SQLite driver prepares every time).
  const kysely = new Kysely<Database>({
    dialect: new SqliteDialect({ database: { close: () => sqlite.close(), prepare } }),
  });

  let closed = false;
  return {
    kysely,
    sqlite,
    prepare: <Row>(sql: string) => prepare(sql) as SQLite.Statement<unknown[], Row>,
    all<R>(query: Compilable<R>): R[] {
      const q = query.compile();
      return prepare(q.sql).all(...params(q)) as R[];
    },
    first<R>(query: Compilable<R>): R | undefined {
      const q = query.compile();
      const stmt = prepare(q.sql);
      if (!stmt.reader) throw new TypeError(`first() needs a query that returns rows: ${q.sql}`);
      return stmt.get(...params(q)) as R | undefined;
    },
    run(query: Compilable<unknown>): number {
      const q = query.compile();
      const stmt = prepare(q.sql);
      if (stmt.reader) return stmt.all(...params(q)).length; // INSERT … RETURNING
      return stmt.run(...params(q)).changes;
    },
    transaction<T>(fn: () => T): T {
      return sqlite.transaction(fn).immediate();
    },
    async close() {
      if (closed) return;
      closed = true;
      await checkpointer?.stop();
      await kysely.destroy();
      if (sqlite.open) sqlite.close();
    },
  };
}

/** Current time in epoch milliseconds; one place so tests read one clock. */
export const now = (): number => Date.now();
