import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OperatorView } from '../../core/auth/operators.js';
import {
  createSession,
  deleteExpiredSessions,
  invalidateOperatorSessions,
  invalidateSession,
  SESSION_TOUCH_INTERVAL_MS,
  SESSION_TTL_MS,
  validateSessionToken,
} from '../../core/auth/sessions.js';
import { sha256 } from '../../core/crypto/tokens.js';
import { databasePath } from '../../core/db/index.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';
import { makeOperator } from './helpers.js';

// Sessions live in core/auth; their tests sit here with the console that uses them.
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 12);
let t: TempDb;
let op: OperatorView;
beforeEach(async () => {
  t = tempDb();
  op = await makeOperator(t, 'admin');
});
afterEach(async () => {
  await t.cleanup();
});

const row = (id: string) =>
  t.db.kysely.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();

describe('createSession', () => {
  it('issues <id>.<secret> and stores only SHA-256 of the secret', async () => {
    const { token, session } = await createSession(t.db, op.id, T0);
    const [id, secret] = token.split('.') as [string, string];
    expect(id).toMatch(/^[a-z2-7]{24}$/);
    expect(secret).toMatch(/^[a-z2-7]{32}$/);
    expect(session).toEqual({ id, operatorId: op.id, createdAt: T0, lastUsedAt: T0, expiresAt: T0 + SESSION_TTL_MS });
    const stored = await row(id);
    expect(stored?.secret_hash.equals(sha256(secret))).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('never writes the raw secret into the database files', async () => {
    const { token } = await createSession(t.db, op.id, T0);
    const secret = token.split('.')[1] as string;
    const file = databasePath(t.dir);
    const bytes = [file, `${file}-wal`].map((f) => {
      try {
        return readFileSync(f).toString('latin1');
      } catch {
        return '';
      }
    });
    expect(bytes.join('').length).toBeGreaterThan(0);
    expect(bytes.join('')).not.toContain(secret);
  });
});

describe('validateSessionToken', () => {
  it('returns the session and its operator for the exact token', async () => {
    const { token, session } = await createSession(t.db, op.id, T0);
    const found = await validateSessionToken(t.db, token, T0 + 1000);
    expect(found?.session.id).toBe(session.id);
    expect(found?.operator).toMatchObject({ id: op.id, email: op.email, role: 'admin' });
    expect(found?.renewed).toBe(false);
  });

  it('refuses a tampered secret, a swapped id and malformed tokens', async () => {
    const { token } = await createSession(t.db, op.id, T0);
    const other = await createSession(t.db, op.id, T0);
    const [id, secret] = token.split('.') as [string, string];
    const flipped = `${id}.${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`;
    const swapped = `${other.session.id}.${secret}`;
    for (const bad of [flipped, swapped, id, `${token}x`, '', 'a.b', `${id}.${secret}.x`]) {
      expect(await validateSessionToken(t.db, bad, T0)).toBeUndefined();
    }
    expect(await validateSessionToken(t.db, token, T0)).toBeDefined();
  });

  it('expires after 30 days without use and deletes the expired row', async () => {
    const { token, session } = await createSession(t.db, op.id, T0);
    expect(await validateSessionToken(t.db, token, T0 + SESSION_TTL_MS - 1)).toBeDefined();
    const { token: token2, session: s2 } = await createSession(t.db, op.id, T0);
    expect(await validateSessionToken(t.db, token2, T0 + SESSION_TTL_MS)).toBeUndefined();
    expect(await row(s2.id)).toBeUndefined();
    expect(await row(session.id)).toBeDefined();
  });

  it('extends to a full 30 days once less than half remains', async () => {
    const { token, session } = await createSession(t.db, op.id, T0);
    const early = await validateSessionToken(t.db, token, T0 + 10 * DAY);
    expect(early?.renewed).toBe(false);
    expect(early?.session.expiresAt).toBe(T0 + SESSION_TTL_MS);
    const late = T0 + 16 * DAY;
    const renewed = await validateSessionToken(t.db, token, late);
    expect(renewed?.renewed).toBe(true);
    expect(renewed?.session.expiresAt).toBe(late + SESSION_TTL_MS);
    expect((await row(session.id))?.expires_at).toBe(late + SESSION_TTL_MS);
    // Valid past the original expiry thanks to the renewal.
    expect(await validateSessionToken(t.db, token, T0 + SESSION_TTL_MS + DAY)).toBeDefined();
  });

  it('moves last_used_at at most once a minute', async () => {
    const { token, session } = await createSession(t.db, op.id, T0);
    await validateSessionToken(t.db, token, T0 + 30_000);
    expect((await row(session.id))?.last_used_at).toBe(T0);
    await validateSessionToken(t.db, token, T0 + SESSION_TOUCH_INTERVAL_MS);
    expect((await row(session.id))?.last_used_at).toBe(T0 + SESSION_TOUCH_INTERVAL_MS);
  });

  it('refuses the sessions of a disabled operator', async () => {
    const { token } = await createSession(t.db, op.id, T0);
    await t.db.kysely.updateTable('operators').set({ disabled_at: T0 }).where('id', '=', op.id).execute();
    expect(await validateSessionToken(t.db, token, T0 + 1)).toBeUndefined();
  });
});

describe('invalidation', () => {
  it('ends one session on logout and leaves the others', async () => {
    const a = await createSession(t.db, op.id, T0);
    const b = await createSession(t.db, op.id, T0);
    await invalidateSession(t.db, a.session.id);
    expect(await validateSessionToken(t.db, a.token, T0)).toBeUndefined();
    expect(await validateSessionToken(t.db, b.token, T0)).toBeDefined();
  });

  it("ends every session of one operator and no one else's", async () => {
    const viewer = await makeOperator(t, 'viewer');
    const mine = [await createSession(t.db, op.id, T0), await createSession(t.db, op.id, T0)];
    const theirs = await createSession(t.db, viewer.id, T0);
    expect(await invalidateOperatorSessions(t.db, op.id)).toBe(2);
    for (const s of mine) expect(await validateSessionToken(t.db, s.token, T0)).toBeUndefined();
    expect(await validateSessionToken(t.db, theirs.token, T0)).toBeDefined();
  });

  it('sweeps expired sessions', async () => {
    await createSession(t.db, op.id, T0);
    const fresh = await createSession(t.db, op.id, T0 + 20 * DAY);
    expect(await deleteExpiredSessions(t.db, T0 + SESSION_TTL_MS)).toBe(1);
    expect(await row(fresh.session.id)).toBeDefined();
  });
});
