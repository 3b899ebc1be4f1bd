import { hash } from '@node-rs/argon2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authenticateOperator, createOperator, roleAtLeast, WRONG_CREDENTIALS } from '../../core/auth/operators.js';
import { ConflictError, UnauthorizedError, ValidationError } from '../../core/errors.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';
import { PASSWORD } from './helpers.js';

// Operators live in core/auth; their tests sit here with the console that uses them.
let t: TempDb;
beforeEach(() => {
  t = tempDb();
});
afterEach(async () => {
  await t.cleanup();
});

const operatorRows = () => t.db.kysely.selectFrom('operators').selectAll().execute();

describe('createOperator', () => {
  it('stores a lower-cased e-mail and an argon2id hash, never the password, with an audit entry', async () => {
    const op = await createOperator(t.db, { email: '  Ops@Example.COM ', password: PASSWORD, role: 'owner' });
    expect(op).toMatchObject({ email: 'ops@example.com', role: 'owner', disabled_at: null });
    expect(op).not.toHaveProperty('password_hash');
    const [row] = await operatorRows();
    expect(row?.password_hash).toMatch(/^\$argon2id\$/);
    expect(row?.password_hash).not.toContain(PASSWORD);
    const entries = await t.db.kysely
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'operator.create')
      .execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'cli', target: op.id });
    expect(JSON.parse(entries[0]?.detail ?? '{}')).toEqual({ email: 'ops@example.com', role: 'owner' });
  });

  it('refuses a taken e-mail in any letter case with a ConflictError and writes nothing', async () => {
    await createOperator(t.db, { email: 'ops@example.com', password: PASSWORD, role: 'admin' });
    const again = createOperator(t.db, { email: 'OPS@example.com', password: PASSWORD, role: 'viewer' });
    await expect(again).rejects.toThrow(ConflictError);
    await expect(again).rejects.toMatchObject({ code: 'email_taken', status: 409 });
    expect(await operatorRows()).toHaveLength(1);
    const audits = await t.db.kysely.selectFrom('audit_log').select('id').execute();
    expect(audits).toHaveLength(1);
  });

  it('validates the e-mail, the role and the password policy before writing', async () => {
    await expect(createOperator(t.db, { email: 'not-an-email', password: PASSWORD, role: 'admin' })).rejects.toThrow(
      ValidationError,
    );
    const badRole = { email: 'a@example.com', password: PASSWORD, role: 'root' } as unknown as Parameters<
      typeof createOperator
    >[1];
    await expect(createOperator(t.db, badRole)).rejects.toThrow(/owner, admin or viewer/);
    await expect(createOperator(t.db, { email: 'b@example.com', password: 'short', role: 'admin' })).rejects.toThrow(
      /at least 12/,
    );
    expect(await operatorRows()).toHaveLength(0);
  });
});

describe('authenticateOperator', () => {
  beforeEach(async () => {
    await createOperator(t.db, { email: 'ops@example.com', password: PASSWORD, role: 'admin' });
  });

  it('returns the operator (without its hash) for the right e-mail, in any case, and password', async () => {
    const op = await authenticateOperator(t.db, ' OPS@example.com', PASSWORD);
    expect(op.email).toBe('ops@example.com');
    expect(op).not.toHaveProperty('password_hash');
  });

  it('fails a wrong password and an unknown e-mail with the same error', async () => {
    const wrong = await authenticateOperator(t.db, 'ops@example.com', 'not the password').catch((e: unknown) => e);
    const unknown = await authenticateOperator(t.db, 'nobody@example.com', PASSWORD).catch((e: unknown) => e);
    for (const err of [wrong, unknown]) {
      expect(err).toBeInstanceOf(UnauthorizedError);
      expect(err).toMatchObject({ code: 'wrong_credentials', message: WRONG_CREDENTIALS });
    }
  });

  it('still runs an argon2 verification when the e-mail is unknown', async () => {
    await authenticateOperator(t.db, 'warm@example.com', 'x').catch(() => undefined); // computes the dummy hash once
    const started = performance.now();
    await authenticateOperator(t.db, 'nobody@example.com', PASSWORD).catch(() => undefined);
    // A table lookup alone takes well under a millisecond; argon2id at 19 MiB takes tens.
    expect(performance.now() - started).toBeGreaterThan(8);
  });

  it('refuses a disabled operator even with the right password', async () => {
    await t.db.kysely.updateTable('operators').set({ disabled_at: Date.now() }).execute();
    await expect(authenticateOperator(t.db, 'ops@example.com', PASSWORD)).rejects.toMatchObject({
      code: 'operator_disabled',
      status: 401,
    });
  });

  it('rehashes a password stored with weaker parameters after a successful sign-in', async () => {
    const weak = await hash(PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await t.db.kysely.updateTable('operators').set({ password_hash: weak }).execute();
    await authenticateOperator(t.db, 'ops@example.com', PASSWORD);
    const [row] = await operatorRows();
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});

describe('roleAtLeast', () => {
  it('orders owner above admin above viewer', () => {
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('admin', 'admin')).toBe(true);
    expect(roleAtLeast('viewer', 'admin')).toBe(false);
    expect(roleAtLeast('admin', 'owner')).toBe(false);
  });
});
