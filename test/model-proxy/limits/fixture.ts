import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Tenant } from '../../../core/db/schema.js';
import { LimitError } from '../../../core/errors.js';
import { createApiKey } from '../../../core/tenancy/api-keys.js';
import { createTenant } from '../../../core/tenancy/tenants.js';
import { UsageLedger, type UsageRecord } from '../../../core/usage/ledger.js';
import { type LimitSubject, Limits } from '../../../model-proxy/limits/index.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

/** A clock the test moves by hand. */
export class Clock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

/** A migrated database with one tenant on a plan, a clock and a `Limits` reading both. */
export interface LimitsFixture {
  t: TempDb;
  tenant: Tenant;
  clock: Clock;
  limits: Limits;
  ledger: UsageLedger;
  /** Chat (counts as a message) by the tenant's API client with no user and no key. */
  chat: LimitSubject;
  /** Embeddings (not a message), same caller. */
  embed: LimitSubject;
  /** Adds a tenant user and returns its id. */
  addUser(caps?: { monthly_token_cap?: number | null; messages_per_day?: number | null }): string;
  /** Adds an API key of the tenant and returns its id. */
  addKey(rates?: { requests_per_minute?: number | null; tokens_per_minute?: number | null }): Promise<string>;
  /** Adds another tenant on the same plan and returns its id. */
  addTenant(slug: string): Promise<string>;
  /** Sets columns of the tenant's row. */
  setTenant(values: Record<string, number | string | null>): void;
  /** Writes a ledger row (and its rollup) for the tenant. */
  record(r: Partial<UsageRecord>): void;
  /** A new `Limits` over the same database and clock: a restarted proxy. */
  restart(): Limits;
}

/** Builds the fixture; the tenant is on `plan`, the clock at `at`. */
export async function limitsFixture(opts: { plan?: string; at?: string } = {}): Promise<LimitsFixture> {
  const t = tempDb();
  const tenant = await createTenant(
    t.db,
    t.sealer,
    { name: 'Acme', slug: 'acme', planId: opts.plan ?? 'starter' },
    { actor: 'cli' },
  );
  const clock = new Clock(Date.parse(opts.at ?? '2026-11-22T10:00:00Z'));
  const ledger = new UsageLedger(t.db);
  const subject = (endpoint: string): LimitSubject => ({ tenantId: tenant.id, userId: null, apiKeyId: null, endpoint });
  return {
    t,
    tenant,
    clock,
    limits: new Limits(t.db, { now: clock.now }),
    ledger,
    chat: subject('/api/chat'),
    embed: subject('/api/embed'),
    addUser(caps = {}) {
      const id = randomUUID();
      t.db.run(
        t.db.kysely.insertInto('tenant_users').values({
          id,
          tenant_id: tenant.id,
          display_name: `user ${id.slice(0, 4)}`,
          role: 'member',
          status: 'active',
          features: null,
          created_at: 0,
          updated_at: 0,
          ...caps,
        }),
      );
      return id;
    },
    async addKey(rates = {}) {
      const { view } = await createApiKey(t.db, tenant.id, { name: 'client' }, { actor: 'cli' });
      if (Object.keys(rates).length) {
        t.db.run(t.db.kysely.updateTable('api_keys').set(rates).where('id', '=', view.id));
      }
      return view.id;
    },
    async addTenant(slug) {
      const other = await createTenant(t.db, t.sealer, { name: slug, slug, planId: tenant.plan_id }, { actor: 'cli' });
      return other.id;
    },
    setTenant(values) {
      const cols = Object.keys(values);
      t.db.sqlite
        .prepare(`UPDATE tenants SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`)
        .run({ ...values, id: tenant.id });
    },
    record(r) {
      ledger.record({
        requestId: randomUUID(),
        tenantId: tenant.id,
        userId: null,
        apiKeyId: null,
        model: 'llama3.1:8b',
        endpoint: '/api/chat',
        promptTokens: 0,
        completionTokens: 0,
        status: 'ok',
        backend: null,
        startedAt: clock.ms,
        durationMs: 10,
        costMicros: 0,
        exact: true,
        ...r,
      });
    },
    restart() {
      return new Limits(t.db, { now: clock.now });
    },
  };
}

/** Runs `fn`, expects it to throw a LimitError, and returns it. */
export function refused(fn: () => unknown): LimitError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a LimitError').toBeInstanceOf(LimitError);
  const err = caught as LimitError;
  expect(err.status).toBe(429);
  expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  return err;
}
