import { equalSecrets } from '../core/crypto/tokens.js';
import type { Db } from '../core/db/index.js';
import type { ApiKeyRow, Plan, Tenant } from '../core/db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../core/errors.js';
import { checkApiKeyState, verifyApiKey } from '../core/tenancy/api-keys.js';
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

/** How long a looked-up key, tenant or user is trusted: revocation takes effect within this. */
export const CALLER_CACHE_MS = 1_000;

interface Cached<T> {
  value: T;
  until: number;
}

/**
 * Resolves callers: either a tenant API key (`Authorization: Bearer ak_…`) or the gateway's
 * internal token plus `X-Anvil-Tenant` (id) and optional `X-Anvil-User`, which must be a
 * user of that tenant. Suspended tenants and users are refused with the reason. Lookups
 * are cached for CALLER_CACHE_MS, so a revoked key or suspended tenant is refused within a
 * second without a database read on every request.
 */
export class CallerResolver {
  /** Verified keys by the exact string presented: a hit needs no hash (the secret was proven). */
  private readonly keys = new Map<string, Cached<{ row: ApiKeyRow; models: string[] | null }>>();
  private readonly tenants = new Map<string, Cached<{ tenant: Tenant; limits: EffectiveLimits } | undefined>>();
  private readonly users = new Map<string, Cached<{ status: string } | undefined>>();
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly internalToken: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Authenticates a request or throws 401/403 with a message that says what is wrong. */
  resolve(h: CallerHeaders): Caller {
    const bearer = /^Bearer\s+(\S+)$/i.exec(h.authorization ?? '')?.[1];
    if (!bearer) throw new UnauthorizedError('missing API key: send "Authorization: Bearer <key>"', 'missing_api_key');
    let tenantId: string;
    let userId: string | null = null;
    let apiKeyId: string | null = null;
    let keyModels: string[] | null = null;
    if (bearer.startsWith('ak_')) {
      const key = this.key(bearer);
      tenantId = key.row.tenant_id;
      apiKeyId = key.row.id;
      keyModels = key.models;
    } else if (equalSecrets(bearer, this.internalToken)) {
      if (!h.tenant)
        throw new UnauthorizedError('internal calls must name the tenant in X-Anvil-Tenant', 'missing_tenant');
      tenantId = h.tenant;
      userId = h.user || null;
    } else {
      throw new UnauthorizedError('invalid API key', 'invalid_api_key');
    }
    const found = this.tenant(tenantId);
    if (!found) throw new UnauthorizedError('unknown tenant', 'unknown_tenant');
    const { tenant, limits } = found;
    if (tenant.status !== 'active') {
      throw new ForbiddenError(
        `tenant is suspended: ${tenant.status_reason ?? 'ask the operator'}`,
        'tenant_suspended',
      );
    }
    if (userId) {
      const user = this.user(tenant.id, userId);
      if (!user) throw new UnauthorizedError('X-Anvil-User is not a user of this tenant', 'unknown_user');
      if (user.status !== 'active') throw new ForbiddenError('this user is suspended', 'user_suspended');
    }
    return { tenant, limits, userId, apiKeyId, keyModels };
  }

  /**
   * Verifies a key: the hash is compared in constant time when the key is looked up, and
   * the verified row is then trusted for CALLER_CACHE_MS for that exact string (its
   * revocation and expiry are still checked on every call).
   */
  private key(presented: string): { row: ApiKeyRow; models: string[] | null } {
    const t = this.now();
    let hit = this.keys.get(presented);
    if (hit && hit.until > t) checkApiKeyState(hit.value.row, t);
    else {
      const row = verifyApiKey(this.db, presented, t);
      hit = {
        value: { row, models: row.allowed_models ? (JSON.parse(row.allowed_models) as string[]) : null },
        until: t + CALLER_CACHE_MS,
      };
      if (this.keys.size > 50_000) this.keys.clear();
      this.keys.set(presented, hit);
    }
    const { row } = hit.value;
    if ((this.lastUsedWrites.get(row.id) ?? 0) < t - 60_000) {
      this.lastUsedWrites.set(row.id, t);
      this.db.sqlite.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(t, row.id);
    }
    return hit.value;
  }

  private tenant(tenantId: string): { tenant: Tenant; limits: EffectiveLimits } | undefined {
    return this.cached(this.tenants, tenantId, () => {
      const tenant = this.db.sqlite.prepare('SELECT * FROM tenants WHERE id = ?').get(tenantId) as Tenant | undefined;
      if (!tenant) return undefined;
      const plan = this.db.sqlite.prepare('SELECT * FROM plans WHERE id = ?').get(tenant.plan_id) as Plan;
      return { tenant, limits: effectiveLimits(tenant, plan) };
    });
  }

  private user(tenantId: string, userId: string): { status: string } | undefined {
    return this.cached(
      this.users,
      `${tenantId}/${userId}`,
      () =>
        this.db.sqlite
          .prepare('SELECT status FROM tenant_users WHERE id = ? AND tenant_id = ?')
          .get(userId, tenantId) as { status: string } | undefined,
    );
  }

  private cached<T>(map: Map<string, Cached<T>>, key: string, load: () => T): T {
    const t = this.now();
    const hit = map.get(key);
    if (hit && hit.until > t) return hit.value;
    const value = load();
    if (map.size > 50_000) map.clear();
    map.set(key, { value, until: t + CALLER_CACHE_MS });
    return value;
  }
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
