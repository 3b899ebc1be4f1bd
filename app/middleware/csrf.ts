import type { MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import type { Config } from '../../core/config/index.js';

/**
 * CSRF protection for the console's forms: a state-changing request must come from
 * PUBLIC_URL's origin (the `Origin` header) or say it is same-origin (`Sec-Fetch-Site`,
 * which browsers send, so a console reached under another host name still works).
 * Every page sub-app applies it itself.
 */
export function consoleCsrf(config: Pick<Config, 'PUBLIC_URL'>): MiddlewareHandler {
  return csrf({ origin: new URL(config.PUBLIC_URL).origin });
}
