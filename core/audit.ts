import type { Kysely } from 'kysely';
import type { Database } from './db/schema.js';

/** One entry of the audit log: who did what to which tenant. */
export interface AuditEntry {
  /** "operator:<id>", "user:<id>", "cli" or "system". */
  actor: string;
  tenantId?: string | null;
  action: string;
  target?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends to the audit log; pass the transaction so the entry commits with the change. */
export async function audit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: Date.now(),
      actor: entry.actor,
      tenant_id: entry.tenantId ?? null,
      action: entry.action,
      target: entry.target ?? null,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
    })
    .execute();
}
