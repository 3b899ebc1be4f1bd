import { audit } from '../audit.js';
import type { Sealer } from '../crypto/seal.js';
import type { Db } from '../db/index.js';
import type { TenantBotsTable } from '../db/schema.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { botTokenContext, insertTenantBot, type VerifiedBot } from './tenants.js';

/** The Telegram id of the bot a token belongs to: the number before its colon. */
export function botIdOfToken(token: string): number {
  return Number(token.slice(0, token.indexOf(':')));
}

/** A tenant's white-label bot as it may leave the process: never the token or the webhook secret. */
export interface TenantBotView {
  id: string;
  tenant_id: string;
  telegram_bot_id: number;
  username: string | null;
  status: TenantBotsTable['status'];
  status_reason: string | null;
  created_at: number;
  updated_at: number;
}

const VIEW_COLUMNS = [
  'id',
  'tenant_id',
  'telegram_bot_id',
  'username',
  'status',
  'status_reason',
  'created_at',
  'updated_at',
] as const;

/** The outcome of `setTenantBot`. */
export interface SetBotResult {
  bot: TenantBotView;
  /**
   * What happened: `added` (the tenant had no bot), `token_replaced` (same Telegram bot, new
   * token: id, webhook and update ids carry on) or `bot_replaced` (another Telegram bot: the
   * old one is removed with its token).
   */
  change: 'added' | 'token_replaced' | 'bot_replaced';
  previous: TenantBotView | undefined;
}

/** The tenant's white-label bot, or undefined when it speaks through the platform bot. */
export async function getTenantBot(db: Db, tenantId: string): Promise<TenantBotView | undefined> {
  return db.kysely
    .selectFrom('tenant_bots')
    .select(VIEW_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

/**
 * Gives a tenant its white-label bot, or replaces the one it has, in one transaction: the
 * token sealed under its row's context, the row marked active (a revoked token that is
 * replaced is healthy again), the audit entry. A bot owned by another tenant is refused and
 * nothing is written. The running gateway picks the change up at its next reconcile.
 */
export async function setTenantBot(
  db: Db,
  sealer: Sealer,
  tenantId: string,
  bot: VerifiedBot,
  opts: { actor: string },
): Promise<SetBotResult> {
  return db.transaction(() => {
    const tenant = db.first(db.kysely.selectFrom('tenants').select('id').where('id', '=', tenantId));
    if (!tenant) throw new NotFoundError('no such tenant', 'tenant_not_found');
    const owner = db.first(
      db.kysely.selectFrom('tenant_bots').select('tenant_id').where('telegram_bot_id', '=', bot.telegramBotId),
    );
    if (owner && owner.tenant_id !== tenantId) {
      throw new ConflictError(`bot @${bot.username} already belongs to another tenant`, 'bot_taken');
    }
    const existing = db.all(
      db.kysely
        .selectFrom('tenant_bots')
        .select([...VIEW_COLUMNS, 'token_secret_id'])
        .where('tenant_id', '=', tenantId),
    );
    const t = Date.now();
    const same = existing.find((b) => b.telegram_bot_id === bot.telegramBotId);
    let botId: string;
    let change: SetBotResult['change'];
    if (same) {
      // A token regenerated with @BotFather: same bot, same row, same webhook URL.
      botId = same.id;
      change = 'token_replaced';
      db.run(
        db.kysely
          .updateTable('sealed_secrets')
          .set({ sealed: sealer.seal(bot.token, botTokenContext(botId)), updated_at: t })
          .where('id', '=', same.token_secret_id),
      );
      db.run(
        db.kysely
          .updateTable('tenant_bots')
          .set({ username: bot.username, status: 'active', status_reason: null, updated_at: t })
          .where('id', '=', botId),
      );
    } else {
      for (const old of existing) deleteBotRows(db, old.id, old.token_secret_id);
      change = existing.length ? 'bot_replaced' : 'added';
      botId = insertTenantBot(db, sealer, tenantId, bot, t);
    }
    const previous = existing[0] ? viewOf(existing[0]) : undefined;
    audit(db, {
      actor: opts.actor,
      tenantId,
      action: change === 'added' ? 'tenant.bot.add' : 'tenant.bot.replace',
      target: bot.username,
      detail: { change, previous: previous?.username ?? null },
    });
    const row = db.first(db.kysely.selectFrom('tenant_bots').select(VIEW_COLUMNS).where('id', '=', botId));
    return { bot: row as TenantBotView, change, previous };
  });
}

/**
 * Removes a tenant's white-label bot and its sealed token; the tenant's users are served by
 * the platform bot from then on. Throws NotFoundError when the tenant has no bot.
 */
export async function removeTenantBot(db: Db, tenantId: string, opts: { actor: string }): Promise<TenantBotView> {
  return db.transaction(() => {
    const rows = db.all(
      db.kysely
        .selectFrom('tenant_bots')
        .select([...VIEW_COLUMNS, 'token_secret_id'])
        .where('tenant_id', '=', tenantId),
    );
    const first = rows[0];
    if (!first) throw new NotFoundError('this tenant has no bot of its own', 'bot_not_found');
    for (const row of rows) deleteBotRows(db, row.id, row.token_secret_id);
    audit(db, { actor: opts.actor, tenantId, action: 'tenant.bot.remove', target: first.username });
    return viewOf(first);
  });
}

/** Deletes a bot row, its sealed token and its stored webhook updates (inside a transaction). */
function deleteBotRows(db: Db, botId: string, secretId: string): void {
  db.run(db.kysely.deleteFrom('tenant_bots').where('id', '=', botId));
  db.run(db.kysely.deleteFrom('sealed_secrets').where('id', '=', secretId));
  db.run(db.kysely.deleteFrom('telegram_updates').where('bot_id', '=', botId));
}

function viewOf(row: TenantBotView & { token_secret_id?: string }): TenantBotView {
  const { token_secret_id: _secret, ...view } = row;
  return view;
}

/** Opens a tenant bot's sealed token (throws SealError when it cannot be opened). */
export async function openTenantBotToken(db: Db, sealer: Sealer, tenantId: string, botId: string): Promise<string> {
  const row = await db.kysely
    .selectFrom('tenant_bots as b')
    .innerJoin('sealed_secrets as s', 's.id', 'b.token_secret_id')
    .select('s.sealed')
    .where('b.tenant_id', '=', tenantId)
    .where('b.id', '=', botId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('no such bot', 'bot_not_found');
  return sealer.open(row.sealed, botTokenContext(botId));
}

/**
 * Records what the gateway learnt about a bot: `active` after a successful start, or
 * `unhealthy` with the reason (e.g. Telegram refused the token). An operator's `disabled`
 * is never overwritten. Returns whether the row changed.
 */
export function setTenantBotHealth(
  db: Db,
  tenantId: string,
  botId: string,
  health: { status: 'active' } | { status: 'unhealthy'; reason: string },
): boolean {
  const reason = health.status === 'unhealthy' ? health.reason.slice(0, 500) : null;
  return (
    db.run(
      db.kysely
        .updateTable('tenant_bots')
        .set({ status: health.status, status_reason: reason, updated_at: Date.now() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', botId)
        .where('status', '!=', 'disabled')
        .where((eb) => eb.or([eb('status', '!=', health.status), eb('status_reason', 'is not', reason)])),
    ) > 0
  );
}

/** A white-label bot the gateway should run, as the operator-level listing returns it. */
export interface RunnableTenantBot {
  id: string;
  tenant_id: string;
  telegram_bot_id: number;
  username: string | null;
  status: TenantBotsTable['status'];
  /** Changes whenever the token is set again, so the gateway restarts the bot. */
  token_version: string;
}

/**
 * Operator-level: every white-label bot that should be running, across all tenants: its
 * tenant is active and the operator has not disabled it (unhealthy bots are included and
 * retried).
 */
export function listRunnableBotsAcrossTenants(db: Db): RunnableTenantBot[] {
  const rows = db.all(
    db.kysely
      .selectFrom('tenant_bots as b')
      .innerJoin('tenants as t', 't.id', 'b.tenant_id')
      .innerJoin('sealed_secrets as s', 's.id', 'b.token_secret_id')
      .select([
        'b.id',
        'b.tenant_id',
        'b.telegram_bot_id',
        'b.username',
        'b.status',
        's.id as secret_id',
        's.updated_at as secret_updated_at',
      ])
      .where('t.status', '=', 'active')
      .where('b.status', '!=', 'disabled')
      .orderBy('b.created_at'),
  );
  return rows.map(({ secret_id, secret_updated_at, ...bot }) => ({
    ...bot,
    token_version: `${secret_id}:${secret_updated_at}`,
  }));
}

/**
 * Operator-level: what the webhook route needs before the tenant is known: the tenant of
 * the bot at `/telegram/<botId>` (its secret is derived, see gateway/webhooks/secret.ts).
 */
export function findWebhookTargetAcrossTenants(db: Db, botId: string): { tenant_id: string } | undefined {
  return db.first(db.kysely.selectFrom('tenant_bots').select(['tenant_id']).where('id', '=', botId));
}
