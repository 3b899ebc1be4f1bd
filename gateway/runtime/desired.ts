import { createHash } from 'node:crypto';
import type { Config } from '../../core/config/index.js';
import type { Sealer } from '../../core/crypto/seal.js';
import type { Db } from '../../core/db/index.js';
import { botIdOfToken, listRunnableBotsAcrossTenants, openTenantBotToken } from '../../core/tenancy/bots.js';
import type { BotScope } from '../bot/context.js';
import { PLATFORM_BOT_ID } from '../webhooks/routes.js';
import { platformWebhookSecret, tenantWebhookSecret } from '../webhooks/secret.js';

/** A bot the gateway should be running, as the database and the environment say. */
export interface DesiredBot {
  /** `platform`, or the tenant_bots id; also the `:botId` of its webhook URL. */
  key: string;
  scope: BotScope;
  telegramBotId: number;
  /** For logs: `@username` when known. */
  label: string;
  /** Differs whenever the bot must be restarted (a new token, a new webhook secret). */
  version: string;
  webhookSecret: string;
  /** The tenant_bots row to record health in; undefined for the platform bot. */
  tenantBot: { tenantId: string; botId: string } | undefined;
  /** Opens the token (sealed tenant tokens are opened only when the bot starts). */
  token(): Promise<string>;
}

/**
 * Every bot that should run now: the platform bot when TELEGRAM_BOT_TOKEN is set, and each
 * white-label bot whose tenant is active and which the operator has not disabled.
 */
export function loadDesiredBots(db: Db, sealer: Sealer, config: Config): DesiredBot[] {
  const bots: DesiredBot[] = [];
  const platformToken = config.TELEGRAM_BOT_TOKEN;
  const platformBotId = platformToken ? botIdOfToken(platformToken) : undefined;
  if (platformToken) {
    bots.push({
      key: PLATFORM_BOT_ID,
      scope: { kind: 'platform' },
      telegramBotId: platformBotId as number,
      label: 'platform bot',
      version: createHash('sha256').update(platformToken).digest('hex').slice(0, 16),
      webhookSecret: platformWebhookSecret(config.masterKey),
      tenantBot: undefined,
      token: async () => platformToken,
    });
  }
  for (const b of listRunnableBotsAcrossTenants(db)) {
    // The platform bot's own token stored as a tenant's (the CLI refuses it, but the
    // environment may have changed since): one token polled twice would have each bot
    // take the other's updates, so the platform bot keeps it.
    if (b.telegram_bot_id === platformBotId) continue;
    const webhookSecret = tenantWebhookSecret(config.masterKey, b.id);
    bots.push({
      key: b.id,
      scope: { kind: 'tenant', tenantId: b.tenant_id },
      telegramBotId: b.telegram_bot_id,
      label: b.username ? `@${b.username}` : `bot ${b.telegram_bot_id}`,
      version: `${b.token_version}:${createHash('sha256').update(webhookSecret).digest('hex').slice(0, 8)}`,
      webhookSecret,
      tenantBot: { tenantId: b.tenant_id, botId: b.id },
      token: () => openTenantBotToken(db, sealer, b.tenant_id, b.id),
    });
  }
  return bots;
}
