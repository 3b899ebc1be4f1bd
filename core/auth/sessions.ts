/**
 * Console sessions, built the way the Lucia project now recommends instead of its deprecated
 * library (lucia-auth.com, "Sessions"): the client holds `<id>.<secret>`, the database keeps
 * the id and SHA-256(secret) only; a token is checked by looking the id up and comparing the
 * secret's hash in constant time, so neither a leaked table nor response timing yields a
 * usable token.
 */
import { equalHashes, randomToken, sha256 } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { OperatorView } from './operators.js';

/** Name of the console's session cookie. */
export const SESSION_COOKIE = 'anvil_session';

/** How long a session lives without use: 30 days, renewed while it is being used. */
export const SESSION_TTL_MS = 30 * 86_400_000;

/** A session is renewed once less than this much of its life remains (half of it). */
export const SESSION_RENEW_BELOW_MS = SESSION_TTL_MS / 2;

/** `last_used_at` is written at most this often, so browsing does not write on every request. */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

/** A console session as the app sees it; the secret hash never leaves this module. */
export interface ConsoleSession {
  id: string;
  operatorId: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
}

/** A valid session with its operator; `renewed` says the cookie's expiry should be re-sent. */
export interface ValidatedSession {
  session: ConsoleSession;
  operator: OperatorView;
  renewed: boolean;
}

// The id is 120 bits (24 base32 characters) and the secret 160 bits (32 characters), above
// the 120 bits Lucia asks of each.
const TOKEN = /^([a-z2-7]{24})\.([a-z2-7]{32})$/;

/**
 * Starts a session for an operator and returns the token for the cookie. The token is
 * shown to the client once; only the hash of its secret is stored.
 */
export async function createSession(
  db: Db,
  operatorId: string,
  at = Date.now(),
): Promise<{ token: string; session: ConsoleSession }> {
  const id = randomToken(15);
  const secret = randomToken(20);
  const session: ConsoleSession = { id, operatorId, createdAt: at, lastUsedAt: at, expiresAt: at + SESSION_TTL_MS };
  await db.kysely
    .insertInto('console_sessions')
    .values({
      id,
      secret_hash: sha256(secret),
      operator_id: operatorId,
      created_at: at,
      last_used_at: at,
      expires_at: session.expiresAt,
    })
    .execute();
  return { token: `${id}.${secret}`, session };
}

/**
 * Checks a session token. Returns undefined for a malformed, unknown, tampered or expired
 * token and for a disabled operator (expired sessions are deleted on sight). A session with
 * less than half its life left is extended to a full 30 days (`renewed`); `last_used_at`
 * moves at most once a minute.
 */
export async function validateSessionToken(
  db: Db,
  token: string,
  at = Date.now(),
): Promise<ValidatedSession | undefined> {
  const m = TOKEN.exec(token);
  if (!m?.[1] || !m[2]) return undefined;
  const [id, secret] = [m[1], m[2]];
  const row = await db.kysely
    .selectFrom('console_sessions as s')
    .innerJoin('operators as o', 'o.id', 's.operator_id')
    .select([
      's.id',
      's.secret_hash',
      's.operator_id',
      's.created_at',
      's.last_used_at',
      's.expires_at',
      'o.email',
      'o.role',
      'o.created_at as operator_created_at',
      'o.disabled_at',
    ])
    .where('s.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  if (!equalHashes(row.secret_hash, sha256(secret))) return undefined;
  if (row.expires_at <= at) {
    await invalidateSession(db, id);
    return undefined;
  }
  if (row.disabled_at !== null) return undefined;

  const session: ConsoleSession = {
    id,
    operatorId: row.operator_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  };
  const renewed = session.expiresAt - at < SESSION_RENEW_BELOW_MS;
  if (renewed) session.expiresAt = at + SESSION_TTL_MS;
  if (renewed || at - session.lastUsedAt >= SESSION_TOUCH_INTERVAL_MS) {
    session.lastUsedAt = at;
    await db.kysely
      .updateTable('console_sessions')
      .set({ last_used_at: at, expires_at: session.expiresAt })
      .where('id', '=', id)
      .execute();
  }
  const operator: OperatorView = {
    id: row.operator_id,
    email: row.email,
    role: row.role,
    created_at: row.operator_created_at,
    disabled_at: row.disabled_at,
  };
  return { session, operator, renewed };
}

/** Ends one session (logout). Ending an unknown session is harmless. */
export async function invalidateSession(db: Db, sessionId: string): Promise<void> {
  await db.kysely.deleteFrom('console_sessions').where('id', '=', sessionId).execute();
}

/** Ends every session of an operator (password change, disabling, "sign out everywhere"); returns how many. */
export async function invalidateOperatorSessions(db: Db, operatorId: string): Promise<number> {
  const res = await db.kysely.deleteFrom('console_sessions').where('operator_id', '=', operatorId).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Deletes every expired session; returns how many (a housekeeping job may call this). */
export async function deleteExpiredSessions(db: Db, at = Date.now()): Promise<number> {
  const res = await db.kysely.deleteFrom('console_sessions').where('expires_at', '<=', at).executeTakeFirst();
  return Number(res.numDeletedRows);
}
