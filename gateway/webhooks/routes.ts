import { Hono } from 'hono';
import type { Config } from '../../core/config/index.js';
import type { Db } from '../../core/db/index.js';
import type { Logger } from '../../core/logger.js';
import { findWebhookTargetAcrossTenants } from '../../core/tenancy/bots.js';
import { platformWebhookSecret, secretMatches, tenantWebhookSecret } from './secret.js';
import { storeUpdate } from './store.js';

/** The `:botId` of the platform bot's webhook URL. */
export const PLATFORM_BOT_ID = 'platform';

/** Largest update body accepted; Telegram's updates are a few kilobytes. */
const MAX_BODY_BYTES = 1_000_000;

/** What the webhook route needs: where to store updates and whom to tell. */
export interface WebhookIntake {
  db: Db;
  config: Config;
  logger: Logger;
  /** Called after an update was stored for the first time. */
  stored(botId: string): void;
}

const unauthorized = {
  error: { code: 'unauthorized', message: 'unknown bot or wrong X-Telegram-Bot-Api-Secret-Token' },
} as const;

/**
 * `POST /telegram/:botId`, where Telegram delivers a bot's updates. The secret token header
 * is checked against the bot's secret (401 otherwise, and nothing is stored); the update is
 * stored before the 200 and processed after it by the UpdateWorker, so a slow answer never
 * makes Telegram deliver it again; a second delivery of an update is answered 200 and not
 * stored again.
 */
export function webhookRoutes(intake: WebhookIntake): Hono {
  const { db, config, logger } = intake;
  const platformSecret = config.TELEGRAM_BOT_TOKEN ? platformWebhookSecret(config.masterKey) : undefined;
  /** The bot's tenant (null: the platform bot) and the secret its deliveries carry. */
  const webhookTarget = (botId: string): { tenant_id: string | null; secret: string } | undefined => {
    if (botId === PLATFORM_BOT_ID) return platformSecret ? { tenant_id: null, secret: platformSecret } : undefined;
    const bot = findWebhookTargetAcrossTenants(db, botId);
    return bot && { tenant_id: bot.tenant_id, secret: tenantWebhookSecret(config.masterKey, botId) };
  };
  const app = new Hono();
  app.post('/telegram/:botId', async (c) => {
    const botId = c.req.param('botId');
    const target = webhookTarget(botId);
    // Unknown bot and wrong secret look the same from outside.
    if (!target || !secretMatches(c.req.header('x-telegram-bot-api-secret-token'), target.secret)) {
      return c.json(unauthorized, 401);
    }
    if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) {
      return c.json({ error: { code: 'too_large', message: 'an update is at most 1 MB' } }, 413);
    }
    const payload = await c.req.text();
    const updateId = parseUpdateId(payload);
    if (updateId === undefined || payload.length > MAX_BODY_BYTES) {
      return c.json({ error: { code: 'invalid_update', message: 'the body is not a Telegram update' } }, 400);
    }
    const isNew = storeUpdate(db, { botId, tenantId: target.tenant_id, updateId, payload });
    if (isNew) intake.stored(botId);
    else logger.debug({ botId, updateId }, 'telegram delivered an update again; already stored');
    // An empty 200: a JSON body would be read by Telegram as a method call (webhook reply).
    return c.body(null, 200);
  });
  return app;
}

/** The update_id of a JSON update, or undefined when the body is not one. */
function parseUpdateId(payload: string): number | undefined {
  try {
    const update = JSON.parse(payload) as { update_id?: unknown };
    return typeof update === 'object' && update !== null && Number.isSafeInteger(update.update_id)
      ? (update.update_id as number)
      : undefined;
  } catch {
    return undefined;
  }
}
