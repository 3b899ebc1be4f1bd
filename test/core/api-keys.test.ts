import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newApiKey, sha256 } from '../../core/crypto/tokens.js';
import type { Tenant } from '../../core/db/schema.js';
import { type AnvilError, NotFoundError, UnauthorizedError } from '../../core/errors.js';
import { createApiKey, listApiKeys, revokeApiKeyAsOperator, verifyApiKey } from '../../core/tenancy/api-keys.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

let t: TempDb;
let a: Tenant;
let b: Tenant;

beforeEach(async () => {
  t = tempDb();
  a = await createTenant(t.db, t.sealer, { name: 'Alpha', slug: 'alpha' }, { actor: 'cli' });
  b = await createTenant(t.db, t.sealer, { name: 'Beta', slug: 'beta' }, { actor: 'cli' });
});
afterEach(async () => {
  await t.cleanup();
});

/** Returns the 401 that verifyApiKey throws for a key. */
function refusal(key: string, at?: number): UnauthorizedError {
  try {
    verifyApiKey(t.db, key, at);
  } catch (err) {
    if (err instanceof UnauthorizedError) return err;
    throw err;
  }
  throw new Error('expected verifyApiKey to refuse the key');
}

describe('createApiKey and verifyApiKey', () => {
  it('creates a key that verifies to its row, storing only the hash of its secret', async () => {
    const { key, view } = await createApiKey(t.db, a.id, { name: ' CRM sync ' }, { actor: 'operator:op1' });
    expect(key).toMatch(/^ak_[a-z2-7]{12}_[a-z2-7]{32}$/);
    expect(view).toMatchObject({ tenant_id: a.id, name: 'CRM sync', expires_at: null, revoked_at: null });
    expect(view).not.toHaveProperty('secret_hash');
    expect(key).toContain(view.id);

    const row = verifyApiKey(t.db, key);
    expect(row.id).toBe(view.id);
    expect(row.tenant_id).toBe(a.id);

    const stored = t.db.sqlite.prepare('SELECT * FROM api_keys WHERE id = ?').get(view.id) as { secret_hash: Buffer };
    const secret = key.split('_')[2] as string;
    expect(stored.secret_hash.equals(sha256(secret))).toBe(true);
    expect(JSON.stringify(t.db.sqlite.prepare('SELECT * FROM api_keys').all())).not.toContain(secret);
    expect(JSON.stringify(t.db.sqlite.prepare('SELECT * FROM audit_log').all())).not.toContain(secret);
    const entry = t.db.sqlite.prepare("SELECT * FROM audit_log WHERE action = 'apikey.create'").get();
    expect(entry).toMatchObject({ actor: 'operator:op1', tenant_id: a.id, target: view.id });
  });

  it('keeps allowed models and expiry', async () => {
    const expiresAt = Date.now() + 3_600_000;
    const { view } = await createApiKey(
      t.db,
      a.id,
      { name: 'k', expiresAt, allowedModels: ['llama3.1:8b'] },
      { actor: 'cli' },
    );
    expect(view.allowed_models).toEqual(['llama3.1:8b']);
    expect(view.expires_at).toBe(expiresAt);
    expect((await listApiKeys(t.db, a.id))[0]?.allowed_models).toEqual(['llama3.1:8b']);
  });

  it('refuses a key without a name', async () => {
    await expect(createApiKey(t.db, a.id, { name: '  ' }, { actor: 'cli' })).rejects.toThrow();
    expect(t.db.sqlite.prepare('SELECT count(*) FROM api_keys').pluck().get()).toBe(0);
  });

  it('refuses a wrong secret for a real id with invalid_api_key', async () => {
    const { key, view } = await createApiKey(t.db, a.id, { name: 'k' }, { actor: 'cli' });
    const forged = `ak_${view.id}_${newApiKey().secret}`;
    expect(forged).not.toBe(key);
    const err = refusal(forged);
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
  });

  it('refuses malformed and unknown keys with 401', async () => {
    const { key } = await createApiKey(t.db, a.id, { name: 'k' }, { actor: 'cli' });
    for (const bad of ['', 'Bearer x', key.toUpperCase(), `${key}x`, key.slice(0, -1), key.replace('ak_', 'sk_')]) {
      const err = refusal(bad);
      expect(err.status, bad).toBe(401);
      expect(err.code).toBe('invalid_api_key');
    }
    const unknown = refusal(newApiKey().key);
    expect(unknown.code).toBe('invalid_api_key');
  });

  it('refuses a revoked key with api_key_revoked', async () => {
    const { key, view } = await createApiKey(t.db, a.id, { name: 'k' }, { actor: 'cli' });
    const revoked = await revokeApiKeyAsOperator(t.db, view.id, { actor: 'operator:op1' });
    expect(revoked.revoked_at).toBeGreaterThan(0);
    expect(revoked).not.toHaveProperty('secret_hash');
    const err = refusal(key);
    expect(err.status).toBe(401);
    expect(err.code).toBe('api_key_revoked');
    // The wrong secret for a revoked key says nothing about its state.
    expect(refusal(`ak_${view.id}_${newApiKey().secret}`).code).toBe('invalid_api_key');
  });

  it('refuses an expired key with api_key_expired', async () => {
    const expiresAt = Date.now() + 60_000;
    const { key } = await createApiKey(t.db, a.id, { name: 'k', expiresAt }, { actor: 'cli' });
    expect(verifyApiKey(t.db, key, expiresAt - 1).tenant_id).toBe(a.id);
    const err = refusal(key, expiresAt);
    expect(err.status).toBe(401);
    expect(err.code).toBe('api_key_expired');
    t.db.sqlite.prepare('UPDATE api_keys SET expires_at = ?').run(Date.now() - 1);
    expect(refusal(key).code).toBe('api_key_expired');
  });
});

describe('listApiKeys', () => {
  it("lists one tenant's keys, newest first, never with the hash", async () => {
    const first = await createApiKey(t.db, a.id, { name: 'first' }, { actor: 'cli' });
    await new Promise((r) => setTimeout(r, 5));
    const second = await createApiKey(t.db, a.id, { name: 'second' }, { actor: 'cli' });
    const other = await createApiKey(t.db, b.id, { name: 'beta key' }, { actor: 'cli' });

    const keysA = await listApiKeys(t.db, a.id);
    expect(keysA.map((k) => k.id)).toEqual([second.view.id, first.view.id]);
    for (const k of keysA) {
      expect(k).not.toHaveProperty('secret_hash');
      expect(k.tenant_id).toBe(a.id);
    }
    expect(JSON.stringify(keysA)).not.toContain(first.key.split('_')[2]);

    const keysB = await listApiKeys(t.db, b.id);
    expect(keysB.map((k) => k.id)).toEqual([other.view.id]);
    expect(await listApiKeys(t.db, 'no-such-tenant')).toEqual([]);
  });
});

describe('revokeApiKeyAsOperator', () => {
  it('throws NotFoundError for an unknown id', async () => {
    const err = await revokeApiKeyAsOperator(t.db, 'nosuchkey000', { actor: 'cli' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as AnvilError).code).toBe('apikey_not_found');
  });

  it('is harmless twice and audits once', async () => {
    const { view } = await createApiKey(t.db, a.id, { name: 'k' }, { actor: 'cli' });
    const once = await revokeApiKeyAsOperator(t.db, view.id, { actor: 'cli' });
    const twice = await revokeApiKeyAsOperator(t.db, view.id, { actor: 'cli' });
    expect(twice.revoked_at).toBe(once.revoked_at);
    const n = t.db.sqlite.prepare("SELECT count(*) FROM audit_log WHERE action = 'apikey.revoke'").pluck().get();
    expect(n).toBe(1);
  });
});
