import { Hono } from 'hono';
import type { Config } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import { healthRoutes, httpCheck, sqliteCheck } from '../core/http/health.js';
import type { Logger } from '../core/logger.js';
import type { ObjectStore } from '../core/storage/object-store.js';
import { type WebhookIntake, webhookRoutes } from './webhooks/routes.js';

/**
 * The gateway's HTTP app: health, and in webhook mode the Telegram webhooks
 * (`POST /telegram/:botId`).
 */
export function createGatewayHttp(
  db: Db,
  config: Config,
  logger: Logger,
  objects?: ObjectStore,
  webhooks?: WebhookIntake,
): Hono {
  const app = new Hono();
  app.route(
    '/',
    healthRoutes('gateway', {
      database: sqliteCheck(db.sqlite),
      modelProxy: httpCheck(`${config.MODEL_PROXY_URL}/healthz`),
      // On S3 this also creates the bucket when it is missing.
      ...(objects ? { objects: () => objects.check() } : {}),
    }),
  );
  if (webhooks) app.route('/', webhookRoutes(webhooks));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    logger.error({ err, path: c.req.path }, 'gateway request failed');
    return c.json({ error: { code: 'internal', message: 'the gateway failed; try again' } }, 500);
  });
  return app;
}
