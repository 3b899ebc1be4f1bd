import { z } from 'zod';
import { audit } from '../audit.js';
import { equalHashes, newApiKey, parseApiKey, sha256 } from '../crypto/tokens.js';
import type { Db } from '../db/index.js';
import type { ApiKeyRow } from '../db/schema.js';
import { NotFoundError, UnauthorizedError } from '../errors.js';

/** Input of `createApiKey`. */
export const newApiKeySchema = z.object({
  name: z.string().trim().min(1, 'a key needs a name').max(80),
  expiresAt: z.number().int().positive().nullable().default(null),
  allowedModels: z.array(z.string().min(1)).nullable().default(null),
  /** The key's own rate limits, on top of the tenant's; null: none of its own. */
  requestsPerMinute: z.number().int().positive().nullable().default(null),
  tokensPerMinute: z.number().int().positive().nullable().default(null),
});

/** What leaves the process about a key: never its hash. */
export interface ApiKeyView {
  id: string;
  tenant_id: string;
  name: string;
  allowed_models: string[] | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** Presents a key row without its secret hash. */
export function apiKeyView(row: ApiKeyRow): ApiKeyView {
  const { secret_hash: _hash, allowed_models, ...rest } = row;
  return { ...rest, allowed_models: allowed_models ? (JSON.parse(allowed_models) as string[]) : null };
}

/** Creates a tenant API key; the returned `key` is shown once and never stored. */
export async function createApiKey(
  db: Db,
  tenantId: string,
  input: z.input<typeof newApiKeySchema>,
  opts: { actor: string },
): Promise<{ key: string; view: ApiKeyView }> {
  const { name, expiresAt, allowedModels, requestsPerMinute, tokensPerMinute } = newApiKeySchema.parse(input);
  const { id, secret, key } = newApiKey();
  const row: ApiKeyRow = {
    id,
    tenant_id: tenantId,
    name,
    secret_hash: sha256(secret),
    allowed_models: allowedModels ? JSON.stringify(allowedModels) : null,
    created_at: Date.now(),
    expires_at: expiresAt,
    revoked_at: null,
    last_used_at: null,
  };
  await db.transaction(() => {
    db.run(
      db.kysely
        .insertInto('api_keys')
        .values({ ...row, requests_per_minute: requestsPerMinute, tokens_per_minute: tokensPerMinute }),
    );
    audit(db, { actor: opts.actor, tenantId, action: 'apikey.create', target: id, detail: { name } });
  });
  return { key, view: apiKeyView(row) };
}

/** The keys of one tenant, newest first. */
export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyView[]> {
  const rows = await db.kysely
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map(apiKeyView);
}

/**
 * Operator-level: revokes a key by id, whatever its tenant. Revoking twice is harmless;
 * an unknown id is an error.
 */
export async function revokeApiKeyAsOperator(db: Db, keyId: string, opts: { actor: string }): Promise<ApiKeyView> {
  return db.transaction(() => {
    const row = db.first(db.kysely.selectFrom('api_keys').selectAll().where('id', '=', keyId));
    if (!row) throw new NotFoundError(`no API key with id "${keyId}"`, 'apikey_not_found');
    if (row.revoked_at === null) {
      row.revoked_at = Date.now();
      db.run(db.kysely.updateTable('api_keys').set({ revoked_at: row.revoked_at }).where('id', '=', keyId));
      audit(db, { actor: opts.actor, tenantId: row.tenant_id, action: 'apikey.revoke', target: keyId });
    }
    return apiKeyView(row);
  });
}

/**
 * Checks a presented API key. Unknown, malformed, revoked and expired keys all fail with
 * 401; the secret is compared as a SHA-256 hash in constant time.
 */
export function verifyApiKey(db: Db, presented: string, at = Date.now()): ApiKeyRow {
  const id = parseApiKey(presented)?.id;
  const row = id
    ? (db.sqlite.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as ApiKeyRow | undefined)
    : undefined;
  return checkApiKey(row, presented, at);
}

/**
 * The rules of `verifyApiKey` against a row already looked up (or cached) by the key's id:
 * the secret must match its hash, and the key must be neither revoked nor expired.
 */
function checkApiKey(row: ApiKeyRow | undefined, presented: string, at = Date.now()): ApiKeyRow {
  const parts = parseApiKey(presented);
  if (!parts || !row || row.id !== parts.id || !equalHashes(row.secret_hash, sha256(parts.secret))) {
    throw new UnauthorizedError('invalid API key', 'invalid_api_key');
  }
  return checkApiKeyState(row, at);
}

/** Refuses a revoked or expired key (its secret already verified). */
export function checkApiKeyState(row: ApiKeyRow, at = Date.now()): ApiKeyRow {
  if (row.revoked_at !== null) throw new UnauthorizedError('this API key has been revoked', 'api_key_revoked');
  if (row.expires_at !== null && row.expires_at <= at)
    throw new UnauthorizedError('this API key has expired', 'api_key_expired');
  return row;
}
