import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { healthRoutes, httpCheck, sqliteCheck } from '../core/http/health.js';
import { apiRoutes } from './api/me.js';
import type { AppDeps } from './deps.js';
import { errorHandler, notFoundHandler, type RootEnv } from './error-handler.js';
import { loginPages } from './pages/login.js';
import { tenantPages } from './pages/tenants.js';

export type { AppDeps } from './deps.js';

/** Probes that are polled constantly and would drown the access log. */
const QUIET_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Builds the console app: health routes, sign-in, the tenants section and the management
 * API, with one error handler that answers JSON on /api/* and friendly pages elsewhere.
 */
export function createApp(deps: AppDeps): Hono<RootEnv> {
  const { db, config, logger } = deps;
  const app = new Hono<RootEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    if (QUIET_PATHS.has(c.req.path)) return;
    logger.info(
      {
        requestId: c.var.requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });
  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler);

  app.route(
    '/',
    healthRoutes('app', {
      database: sqliteCheck(db.sqlite),
      modelProxy: httpCheck(`${config.MODEL_PROXY_URL}/healthz`),
    }),
  );
  app.get('/', (c) => c.redirect('/tenants', 302));
  app.route('/', loginPages(deps));
  app.route('/tenants', tenantPages(deps));
  app.route('/api', apiRoutes(deps));
  return app;
}
