import type { Db } from './db/index.js';

/** One entry of the audit log: who did what to which tenant. */
export interface AuditEntry {
  /** "operator:<id>", "user:<id>", "cli" or "system". */
  actor: string;
  tenantId?: string | null;
  action: string;
  target?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends to the audit log; call it inside the change's `db.transaction` so both commit together. */
export function audit(db: Db, entry: AuditEntry): void {
  db.run(
    db.kysely.insertInto('audit_log').values({
      at: Date.now(),
      actor: entry.actor,
      tenant_id: entry.tenantId ?? null,
      action: entry.action,
      target: entry.target ?? null,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
    }),
  );
}
