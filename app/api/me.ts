import { Hono } from 'hono';
import type { AppDeps } from '../deps.js';
import { consoleCsrf } from '../middleware/csrf.js';
import { requireOperator, type SessionVariables } from '../middleware/session.js';

/**
 * The management API, mounted at /api. For now it answers who is signed in; the console's
 * CRUD endpoints join it in a later issue. It shares the console's cookie session.
 */
export function apiRoutes(deps: AppDeps): Hono<{ Variables: SessionVariables }> {
  const app = new Hono<{ Variables: SessionVariables }>();
  app.use('*', consoleCsrf(deps.config), requireOperator(deps));

  app.get('/me', (c) => {
    const { id, email, role } = c.var.operator;
    return c.json({ operator: { id, email, role }, session: { expires_at: c.var.session.expiresAt } });
  });

  return app;
}
