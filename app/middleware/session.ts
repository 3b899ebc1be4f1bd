import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import { type OperatorView, roleAtLeast } from '../../core/auth/operators.js';
import {
  type ConsoleSession,
  SESSION_COOKIE,
  type ValidatedSession,
  validateSessionToken,
} from '../../core/auth/sessions.js';
import type { Config } from '../../core/config/index.js';
import type { OperatorRole } from '../../core/db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../../core/errors.js';
import { type AppDeps, isApiPath } from '../deps.js';

/** Request variables of every signed-in route: who is signed in, and with which session. */
export type SessionVariables = {
  operator: OperatorView;
  session: ConsoleSession;
};

/** The session cookie's attributes: HttpOnly, SameSite=Lax, Path=/, Secure behind https. */
function cookieOptions(config: Pick<Config, 'PUBLIC_URL'>): CookieOptions {
  return { httpOnly: true, sameSite: 'Lax', path: '/', secure: config.PUBLIC_URL.startsWith('https:') };
}

/** Sends the session cookie, expiring with the session. */
export function setSessionCookie(
  c: Context,
  config: Pick<Config, 'PUBLIC_URL'>,
  token: string,
  expiresAt: number,
): void {
  setCookie(c, SESSION_COOKIE, token, { ...cookieOptions(config), expires: new Date(expiresAt) });
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(c: Context, config: Pick<Config, 'PUBLIC_URL'>): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(config));
}

/**
 * Reads and checks the session cookie of a request. A renewed session gets a fresh cookie
 * expiry; a cookie that no longer names a valid session is cleared.
 */
export async function readSession(
  c: Context,
  deps: Pick<AppDeps, 'db' | 'config'>,
): Promise<ValidatedSession | undefined> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token) return undefined;
  const found = await validateSessionToken(deps.db, token);
  if (!found) clearSessionCookie(c, deps.config);
  else if (found.renewed) setSessionCookie(c, deps.config, token, found.session.expiresAt);
  return found;
}

/** A same-site path to return to after signing in, or undefined when `next` is not one. */
export function safeNext(next: string | undefined): string | undefined {
  // "//host" and "/\host" would leave the site; only plain absolute paths come back.
  return next && /^\/(?![/\\])/.test(next) ? next : undefined;
}

/**
 * Lets signed-in operators through and sets `operator` and `session`. Others are sent to
 * /login (back here afterwards, for page views) or, on the API, answered 401 in JSON.
 */
export function requireOperator(deps: Pick<AppDeps, 'db' | 'config'>): MiddlewareHandler<{
  Variables: SessionVariables;
}> {
  return async (c, next) => {
    const found = await readSession(c, deps);
    if (!found) {
      if (isApiPath(c.req.path)) throw new UnauthorizedError('Sign in first: this needs a console session.');
      const url = new URL(c.req.url);
      const back = c.req.method === 'GET' ? `?next=${encodeURIComponent(url.pathname + url.search)}` : '';
      return c.redirect(`/login${back}`, 302);
    }
    c.set('operator', found.operator);
    c.set('session', found.session);
    await next();
  };
}

/**
 * Refuses (403) operators below `role`; put it on writes so viewers stay read-only.
 * Goes after `requireOperator`.
 */
export function requireRole(role: OperatorRole): MiddlewareHandler<{ Variables: SessionVariables }> {
  return async (c, next) => {
    if (!roleAtLeast(c.var.operator.role, role)) {
      throw new ForbiddenError(`This needs the ${role} role; you are signed in as ${c.var.operator.role}.`, 'role');
    }
    await next();
  };
}
