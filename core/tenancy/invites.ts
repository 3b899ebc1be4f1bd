import { z } from 'zod';
import { audit } from '../audit.js';
import { newId, newInviteCode, sha256Hex } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { TenantRole, TenantUser } from '../db/schema.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { addTelegramMember, assertSeatAvailable } from './access.js';

/** Parses a duration such as `72h`, `30m`, `7d` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  if (!m) throw new ValidationError(`"${text}" is not a duration; write e.g. 30m, 72h or 7d`, 'invalid_duration');
  const n = Number(m[1]);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
  const ms = n * unit;
  if (ms <= 0 || ms > 90 * 86_400_000)
    throw new ValidationError('an invite lives between 1 minute and 90 days', 'invalid_duration');
  return ms;
}

/** Input of `createInvite`. */
export const newInviteSchema = z.object({
  role: z.enum(['member', 'admin']).default('member'),
  ttlMs: z
    .number()
    .int()
    .positive()
    .default(72 * 3_600_000),
});

/** A freshly created invite; the code is shown once and only its hash is kept. */
export interface CreatedInvite {
  id: string;
  code: string;
  role: TenantRole;
  expiresAt: number;
}

/** Creates a single-use, expiring invite for a tenant. */
export async function createInvite(
  db: Db,
  tenantId: string,
  input: z.input<typeof newInviteSchema>,
  opts: { actor: string },
): Promise<CreatedInvite> {
  const { role, ttlMs } = newInviteSchema.parse(input);
  const code = newInviteCode();
  const t = Date.now();
  const invite = { id: newId(), code, role, expiresAt: t + ttlMs };
  await db.transaction(() => {
    db.run(
      db.kysely.insertInto('invites').values({
        id: invite.id,
        tenant_id: tenantId,
        code_hash: sha256Hex(code),
        role,
        created_by: opts.actor,
        created_at: t,
        expires_at: invite.expiresAt,
        redeemed_at: null,
        redeemed_by: null,
      }),
    );
    audit(db, { actor: opts.actor, tenantId, action: 'invite.create', target: invite.id, detail: { role } });
  });
  return invite;
}

/** The Telegram account redeeming an invite. */
export interface TelegramIdentity {
  telegramUserId: number;
  username?: string | undefined;
  displayName: string;
}

/** What a redemption produced. */
export interface Redemption {
  tenantId: string;
  tenantName: string;
  user: TenantUser;
}

/**
 * Redeems an invite code for a Telegram account: creates the tenant user and its link and
 * marks the invite used, all in one transaction. `onlyTenantId` restricts redemption to
 * one tenant (a white-label bot accepts only its own tenant's codes); another tenant's code
 * is then answered as if it did not exist. Every refusal leaves the invite untouched.
 */
export async function redeemInvite(
  db: Db,
  code: string,
  who: TelegramIdentity,
  opts: { onlyTenantId?: string } = {},
): Promise<Redemption> {
  const invalid = () =>
    new NotFoundError('That invite code is not valid. Ask your admin for a new link.', 'invite_invalid');
  if (!/^[a-z2-7]{10}$/.test(code)) throw invalid();
  return db.transaction(() => {
    const invite = db.first(db.kysely.selectFrom('invites').selectAll().where('code_hash', '=', sha256Hex(code)));
    if (!invite || (opts.onlyTenantId && invite.tenant_id !== opts.onlyTenantId)) throw invalid();
    if (invite.redeemed_at !== null)
      throw new ConflictError('That invite has already been used. Ask your admin for a new one.', 'invite_used');
    const t = Date.now();
    if (invite.expires_at <= t)
      throw new ConflictError('That invite has expired. Ask your admin for a new one.', 'invite_expired');
    const tenant = db.first(db.kysely.selectFrom('tenants').selectAll().where('id', '=', invite.tenant_id))!;
    if (tenant.status !== 'active')
      throw new ForbiddenError(`${tenant.name} is not active on this assistant right now.`, 'tenant_suspended');
    const linked = db.first(
      db.kysely
        .selectFrom('telegram_links')
        .select('user_id')
        .where('tenant_id', '=', tenant.id)
        .where('telegram_user_id', '=', who.telegramUserId),
    );
    if (linked) throw new ConflictError(`You are already a member of ${tenant.name}.`, 'already_member');
    assertSeatAvailable(db, tenant.id, 'newcomer');
    // The transaction holds the write lock (BEGIN IMMEDIATE), so the checks above still hold.
    db.run(db.kysely.updateTable('invites').set({ redeemed_at: t }).where('id', '=', invite.id));
    const user = addTelegramMember(
      db,
      tenant.id,
      {
        role: invite.role,
        displayName: who.displayName,
        telegramUserId: who.telegramUserId,
        telegramUsername: who.username ?? null,
      },
      t,
    );
    db.run(db.kysely.updateTable('invites').set({ redeemed_by: user.id }).where('id', '=', invite.id));
    audit(db, { actor: `user:${user.id}`, tenantId: tenant.id, action: 'invite.redeem', target: invite.id });
    return { tenantId: tenant.id, tenantName: tenant.name, user };
  });
}
