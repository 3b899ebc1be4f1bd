import { Hono } from 'hono';
import type { Config } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import { healthRoutes, httpCheck, sqliteCheck } from '../core/http/health.js';

/** The gateway's HTTP app: health now; Telegram webhooks (`POST /telegram/:botId`) join it. */
export function createGatewayHttp(db: Db, config: Config): Hono {
  const app = new Hono();
  app.route(
    '/',
    healthRoutes('gateway', {
      database: sqliteCheck(db.sqlite),
      modelProxy: httpCheck(`${config.MODEL_PROXY_URL}/healthz`),
    }),
  );
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  return app;
}
