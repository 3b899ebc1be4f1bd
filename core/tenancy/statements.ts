import type SQLite from 'better-sqlite3';
import type { Db } from '../db/index.js';

const caches = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

/**
 * A prepared statement of `db`, made once per connection and SQL text. For the queries the
 * gateway runs on every message (member, conversation, history, message rows): written as
 * plain SQL and run synchronously they cost a few microseconds each, where building,
 * compiling and executing them through Kysely's async driver cost tens. `Db` keeps a cache
 * like this for `first` / `all` / `run`, but it is private to core/db.
 */
export function statement<Row = unknown>(db: Db, sql: string): SQLite.Statement<unknown[], Row> {
  let cache = caches.get(db.sqlite);
  if (!cache) {
    cache = new Map();
    caches.set(db.sqlite, cache);
  }
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.sqlite.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt as SQLite.Statement<unknown[], Row>;
}
