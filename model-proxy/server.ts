import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Config } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import { AnvilError, LimitError } from '../core/errors.js';
import { healthRoutes, httpCheck, sqliteCheck } from '../core/http/health.js';
import type { Logger } from '../core/logger.js';
import { UsageLedger } from '../core/usage/ledger.js';
import { OllamaBackend } from './backends/ollama/client.js';
import { resolveCaller } from './caller.js';
import type { ProxyEnv } from './context.js';
import { ollamaChatRoute } from './routes/ollama-chat.js';

/** Largest request body the proxy accepts (images in chat requests make bodies large). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** What the model proxy needs to run. */
export interface ModelProxyDeps {
  db: Db;
  config: Config;
  logger: Logger;
}

/**
 * The model proxy's HTTP app: health, then for `/api/*` request id → body limit →
 * authentication → route. Errors leave in Ollama's shape, `{"error":"…"}`.
 */
export function createModelProxy(deps: ModelProxyDeps): Hono<ProxyEnv> {
  const { db, config, logger } = deps;
  const backend = new OllamaBackend(config.OLLAMA_URLS[0] as string);
  const ledger = new UsageLedger(db);
  const app = new Hono<ProxyEnv>();

  app.route(
    '/',
    healthRoutes('model-proxy', {
      database: sqliteCheck(db.sqlite),
      ollama: httpCheck(`${backend.url}/api/version`),
    }),
  );

  app.use('/api/*', async (c, next) => {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.set('log', logger.child({ requestId }));
    c.header('x-request-id', requestId);
    await next();
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB` }, 413),
    }),
  );
  app.use('/api/*', async (c, next) => {
    c.set(
      'caller',
      resolveCaller(db, config.internalToken, {
        authorization: c.req.header('authorization'),
        tenant: c.req.header('x-anvil-tenant'),
        user: c.req.header('x-anvil-user'),
      }),
    );
    await next();
  });

  app.route('/', ollamaChatRoute({ backend, ledger }));

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    const requestId = c.get('requestId');
    if (requestId) c.header('x-request-id', requestId);
    if (err instanceof AnvilError) {
      if (err instanceof LimitError) c.header('retry-after', String(err.retryAfterSeconds));
      if (err.status >= 500) c.header('retry-after', '30');
      (c.get('log') ?? logger).info({ code: err.code, status: err.status }, err.message);
      return c.json({ error: err.message }, err.status as ContentfulStatusCode);
    }
    (c.get('log') ?? logger).error({ err }, 'unexpected error in the model proxy');
    return c.json({ error: `internal error (request ${requestId ?? 'unknown'})` }, 500);
  });
  return app;
}
