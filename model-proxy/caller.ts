import { equalSecrets } from '../core/crypto/tokens.js';
import type { Db } from '../core/db/index.js';
import type { Plan, Tenant } from '../core/db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../core/errors.js';
import { verifyApiKey } from '../core/tenancy/api-keys.js';
import { type EffectiveLimits, effectiveLimits, modelAllowed } from '../core/tenancy/plans.js';

/** Who is calling the proxy, resolved from the request's credentials. */
export interface Caller {
  tenant: Tenant;
  limits: EffectiveLimits;
  /** The tenant user, when the gateway names one (X-Anvil-User). */
  userId: string | null;
  /** The API key used, when the caller is an API client. */
  apiKeyId: string | null;
  /** Models the key may use (narrower than the plan), or null for the plan's list. */
  keyModels: string[] | null;
}

/** The request headers the proxy reads to authenticate. */
export interface CallerHeaders {
  authorization?: string | undefined;
  tenant?: string | undefined;
  user?: string | undefined;
}

/**
 * Resolves a caller: either a tenant API key (`Authorization: Bearer ak_…`) or the
 * gateway's internal token plus `X-Anvil-Tenant` (id) and optional `X-Anvil-User`, which
 * must be a user of that tenant. Suspended tenants and users are refused with the reason.
 */
export function resolveCaller(db: Db, internalToken: string, h: CallerHeaders): Caller {
  const bearer = /^Bearer\s+(\S+)$/i.exec(h.authorization ?? '')?.[1];
  if (!bearer) throw new UnauthorizedError('missing API key: send "Authorization: Bearer <key>"', 'missing_api_key');
  let tenantId: string;
  let userId: string | null = null;
  let apiKeyId: string | null = null;
  let keyModels: string[] | null = null;
  if (bearer.startsWith('ak_')) {
    const key = verifyApiKey(db, bearer);
    tenantId = key.tenant_id;
    apiKeyId = key.id;
    keyModels = key.allowed_models ? (JSON.parse(key.allowed_models) as string[]) : null;
  } else if (equalSecrets(bearer, internalToken)) {
    if (!h.tenant)
      throw new UnauthorizedError('internal calls must name the tenant in X-Anvil-Tenant', 'missing_tenant');
    tenantId = h.tenant;
    userId = h.user || null;
  } else {
    throw new UnauthorizedError('invalid API key', 'invalid_api_key');
  }
  const tenant = db.sqlite.prepare('SELECT * FROM tenants WHERE id = ?').get(tenantId) as Tenant | undefined;
  if (!tenant) throw new UnauthorizedError('unknown tenant', 'unknown_tenant');
  if (tenant.status !== 'active') {
    throw new ForbiddenError(`tenant is suspended: ${tenant.status_reason ?? 'ask the operator'}`, 'tenant_suspended');
  }
  if (userId) {
    const user = db.sqlite
      .prepare('SELECT status FROM tenant_users WHERE id = ? AND tenant_id = ?')
      .get(userId, tenant.id) as { status: string } | undefined;
    if (!user) throw new UnauthorizedError('X-Anvil-User is not a user of this tenant', 'unknown_user');
    if (user.status !== 'active') throw new ForbiddenError('this user is suspended', 'user_suspended');
  }
  const plan = db.sqlite.prepare('SELECT * FROM plans WHERE id = ?').get(tenant.plan_id) as Plan;
  return { tenant, limits: effectiveLimits(tenant, plan), userId, apiKeyId, keyModels };
}

/** Refuses a model the caller's plan (or key) does not allow. */
export function assertModelAllowed(caller: Caller, model: string): void {
  if (!modelAllowed(caller.limits.allowedModels, model)) {
    throw new ForbiddenError(
      `model "${model}" is not included in the ${caller.limits.planId} plan`,
      'model_not_allowed',
    );
  }
  if (caller.keyModels && !modelAllowed(caller.keyModels, model)) {
    throw new ForbiddenError(`this API key may not use model "${model}"`, 'model_not_allowed');
  }
}
