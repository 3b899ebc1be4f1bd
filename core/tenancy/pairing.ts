import { audit } from '../audit.js';
import { newId, randomToken } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { PairingRequest, Tenant, TenantUser } from '../db/schema.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { addTelegramMember, assertSeatAvailable } from './access.js';
import type { TelegramIdentity } from './invites.js';

/** How long a pairing request waits for an admin. */
export const PAIRING_TTL_MS = 7 * 86_400_000;
/** Open requests one Telegram account may have across all tenants. */
export const MAX_PENDING_PER_ACCOUNT = 3;
/** Open requests one tenant may have waiting; more are dropped so admins are not flooded. */
export const MAX_PENDING_PER_TENANT = 20;

/** What asking for access led to. Only `created` notifies the tenant's admins. */
export type PairingOutcome =
  | { kind: 'created'; request: PairingRequest; tenant: Tenant }
  | { kind: 'already_pending'; request: PairingRequest; tenant: Tenant }
  | { kind: 'already_member'; tenant: Tenant }
  | { kind: 'too_many' }
  /** No such tenant, a paused one, a recent denial or a full queue: told nothing more. */
  | { kind: 'dropped' };

/**
 * Records an unknown Telegram account's request to join a tenant (found by slug on the
 * platform bot, by id on its white-label bot). Requests are rate-limited per account and per
 * tenant, and a denied account cannot ask the same tenant again until the request would have
 * expired, so this cannot be used to spam a tenant's admins.
 */
export async function requestAccess(
  db: Db,
  tenantRef: { id: string } | { slug: string },
  who: TelegramIdentity,
  at = Date.now(),
): Promise<PairingOutcome> {
  return db.transaction((): PairingOutcome => {
    const q = db.kysely.selectFrom('tenants').selectAll();
    const tenant = db.first(
      'id' in tenantRef ? q.where('id', '=', tenantRef.id) : q.where('slug', '=', tenantRef.slug),
    );
    if (tenant?.status !== 'active') return { kind: 'dropped' };
    const linked = db.first(
      db.kysely
        .selectFrom('telegram_links')
        .select('user_id')
        .where('tenant_id', '=', tenant.id)
        .where('telegram_user_id', '=', who.telegramUserId),
    );
    if (linked) return { kind: 'already_member', tenant };
    const mine = db.all(
      db.kysely
        .selectFrom('pairing_requests')
        .selectAll()
        .where('telegram_user_id', '=', who.telegramUserId)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'pending'), eb('expires_at', '>', at)]),
            eb.and([eb('status', '=', 'denied'), eb('decided_at', '>', at - PAIRING_TTL_MS)]),
          ]),
        ),
    );
    const here = mine.find((r) => r.tenant_id === tenant.id);
    if (here?.status === 'pending') return { kind: 'already_pending', request: here, tenant };
    if (here?.status === 'denied') return { kind: 'dropped' };
    if (mine.filter((r) => r.status === 'pending').length >= MAX_PENDING_PER_ACCOUNT) return { kind: 'too_many' };
    const { n } = db.first(
      db.kysely
        .selectFrom('pairing_requests')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenant.id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', at),
    )!;
    if (n >= MAX_PENDING_PER_TENANT) return { kind: 'dropped' };
    const request: PairingRequest = {
      id: newId(),
      tenant_id: tenant.id,
      code: freeCode(db, tenant.id),
      telegram_user_id: who.telegramUserId,
      telegram_username: who.username ?? null,
      display_name: who.displayName.slice(0, 120) || `user ${who.telegramUserId}`,
      status: 'pending',
      created_at: at,
      expires_at: at + PAIRING_TTL_MS,
      decided_at: null,
      decided_by: null,
      user_id: null,
    };
    db.run(db.kysely.insertInto('pairing_requests').values(request));
    audit(db, {
      actor: `telegram:${who.telegramUserId}`,
      tenantId: tenant.id,
      action: 'pairing.request',
      target: request.id,
    });
    return { kind: 'created', request, tenant };
  });
}

/** A six-character code not used by another request of the tenant. */
function freeCode(db: Db, tenantId: string): string {
  for (;;) {
    const code = randomToken(4).slice(0, 6);
    const taken = db.first(
      db.kysely.selectFrom('pairing_requests').select('id').where('tenant_id', '=', tenantId).where('code', '=', code),
    );
    if (!taken) return code;
  }
}

/** What an admin's decision did. */
export interface PairingDecision {
  request: PairingRequest;
  tenantName: string;
  /** The user an approval linked (an existing one when the account joined meanwhile). */
  user: TenantUser | undefined;
}

/**
 * Approves or denies a pending request of the admin's own tenant, found by its code (or
 * id). Approval takes a seat (refused when the plan's max users are reached, leaving the
 * request pending), creates the member and links the Telegram account in one transaction.
 */
export async function decidePairing(
  db: Db,
  tenantId: string,
  codeOrId: string,
  decision: 'approve' | 'deny',
  opts: { actorUserId: string },
  at = Date.now(),
): Promise<PairingDecision> {
  const ref = codeOrId.trim().toLowerCase();
  return db.transaction(() => {
    const request = db.first(
      db.kysely
        .selectFrom('pairing_requests')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('code', '=', ref), eb('id', '=', ref)])),
    );
    if (!request) throw new NotFoundError('There is no request with that code in your team.', 'pairing_not_found');
    if (request.status !== 'pending')
      throw new ConflictError(`That request was already ${request.status}.`, 'pairing_decided');
    if (request.expires_at <= at)
      throw new ConflictError('That request has expired; they can send /request again.', 'pairing_expired');
    const tenant = db.first(db.kysely.selectFrom('tenants').select('name').where('id', '=', tenantId))!;
    let user: TenantUser | undefined;
    if (decision === 'approve') {
      const linked = db.first(
        db.kysely
          .selectFrom('telegram_links')
          .select('user_id')
          .where('tenant_id', '=', tenantId)
          .where('telegram_user_id', '=', request.telegram_user_id),
      );
      if (linked) {
        user = db.first(db.kysely.selectFrom('tenant_users').selectAll().where('id', '=', linked.user_id));
      } else {
        assertSeatAvailable(db, tenantId);
        user = addTelegramMember(
          db,
          tenantId,
          {
            role: 'member',
            displayName: request.display_name,
            telegramUserId: request.telegram_user_id,
            telegramUsername: request.telegram_username,
          },
          at,
        );
      }
    }
    const decided: PairingRequest = {
      ...request,
      status: decision === 'approve' ? 'approved' : 'denied',
      decided_at: at,
      decided_by: opts.actorUserId,
      user_id: user?.id ?? null,
    };
    db.run(
      db.kysely
        .updateTable('pairing_requests')
        .set({
          status: decided.status,
          decided_at: at,
          decided_by: opts.actorUserId,
          user_id: decided.user_id,
        })
        .where('id', '=', request.id),
    );
    audit(db, {
      actor: `user:${opts.actorUserId}`,
      tenantId,
      action: decision === 'approve' ? 'pairing.approve' : 'pairing.deny',
      target: request.id,
    });
    return { request: decided, tenantName: tenant.name, user };
  });
}

/** A tenant's requests still waiting for a decision, oldest first. */
export async function listPendingRequests(db: Db, tenantId: string, at = Date.now()): Promise<PairingRequest[]> {
  return db.kysely
    .selectFrom('pairing_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'pending')
    .where('expires_at', '>', at)
    .orderBy('created_at')
    .execute();
}
