import { z } from 'zod';
import { audit } from '../audit.js';
import { hashPassword, passwordNeedsRehash, verifyPassword } from '../crypto/password.js';
import { newId } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { Operator, OperatorRole } from '../db/schema.js';
import { ConflictError, UnauthorizedError, ValidationError } from '../errors.js';

/** The operator roles, from most to least powerful. */
export const OPERATOR_ROLES = ['owner', 'admin', 'viewer'] as const satisfies readonly OperatorRole[];

/** An e-mail address, trimmed and lower-cased so one person has one spelling. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: 'enter an e-mail address such as ops@example.com' }).max(254));

/** Input of `createOperator`; the password policy is checked by `hashPassword`. */
export const newOperatorSchema = z.object({
  email: emailSchema,
  password: z.string(),
  role: z.enum(OPERATOR_ROLES, { error: 'a role is owner, admin or viewer' }),
});
export type NewOperator = z.input<typeof newOperatorSchema>;

/** What leaves the process about an operator: never the password hash. */
export type OperatorView = Omit<Operator, 'password_hash'>;

/** Presents an operator row without its password hash. */
export function operatorView(row: Operator): OperatorView {
  const { password_hash: _hash, ...rest } = row;
  return rest;
}

/** True when `role` carries at least the rights of `needed` (owner ⊇ admin ⊇ viewer). */
export function roleAtLeast(role: OperatorRole, needed: OperatorRole): boolean {
  return OPERATOR_ROLES.indexOf(role) <= OPERATOR_ROLES.indexOf(needed);
}

/**
 * Creates an operator account (the CLI's `anvil admin create`). The e-mail is validated and
 * lower-cased, the password checked against the policy and hashed with Argon2id; the row and
 * its audit entry commit together. A taken e-mail (in any letter case) is a ConflictError.
 */
export async function createOperator(db: Db, input: NewOperator, opts: { actor?: string } = {}): Promise<OperatorView> {
  const parsed = newOperatorSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(parsed.error.issues.map((i) => i.message).join('; '));
  const { email, password, role } = parsed.data;
  // Hash before the transaction: Argon2 takes tens of milliseconds and needs no lock.
  const row: Operator = {
    id: newId(),
    email,
    password_hash: await hashPassword(password),
    role,
    created_at: Date.now(),
    disabled_at: null,
  };
  const taken = () => new ConflictError(`an operator with e-mail ${email} already exists`, 'email_taken');
  try {
    await db.transaction(() => {
      const dup = db.first(db.kysely.selectFrom('operators').select('id').where('email', '=', email));
      if (dup) throw taken();
      db.run(db.kysely.insertInto('operators').values(row));
      audit(db, {
        actor: opts.actor ?? 'cli',
        action: 'operator.create',
        target: row.id,
        detail: { email, role },
      });
    });
  } catch (err) {
    // Two concurrent creations: the UNIQUE index catches the one the check let through.
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw taken();
    throw err;
  }
  return operatorView(row);
}

/** The message for every failed login, whichever part was wrong. */
export const WRONG_CREDENTIALS = 'Wrong email or password.';

let dummyHash: Promise<string> | undefined;

/** A hash to verify against when the e-mail is unknown, so both cases cost the same time. */
function timingDummy(): Promise<string> {
  dummyHash ??= hashPassword('anvil timing dummy password');
  return dummyHash;
}

/**
 * Checks an e-mail and password. Unknown e-mails still run one Argon2 verification, and
 * wrong e-mails and wrong passwords fail with the same UnauthorizedError, so neither the
 * answer nor its timing tells which accounts exist. Disabled accounts are refused too.
 * A hash made with older parameters is redone on success.
 */
export async function authenticateOperator(db: Db, email: string, password: string): Promise<OperatorView> {
  const normalized = email.trim().toLowerCase();
  const row = await db.kysely.selectFrom('operators').selectAll().where('email', '=', normalized).executeTakeFirst();
  const ok = await verifyPassword(row?.password_hash ?? (await timingDummy()), password);
  if (!row || !ok) throw new UnauthorizedError(WRONG_CREDENTIALS, 'wrong_credentials');
  if (row.disabled_at !== null) {
    throw new UnauthorizedError('This account is disabled. Ask an owner to enable it.', 'operator_disabled');
  }
  if (passwordNeedsRehash(row.password_hash)) {
    const password_hash = await hashPassword(password).catch(() => undefined);
    if (password_hash)
      await db.kysely.updateTable('operators').set({ password_hash }).where('id', '=', row.id).execute();
  }
  return operatorView(row);
}
