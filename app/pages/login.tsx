import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { z } from 'zod';
import { FailureThrottle, LOGIN_THROTTLE } from '../../core/auth/login-throttle.js';
import { authenticateOperator, WRONG_CREDENTIALS } from '../../core/auth/operators.js';
import { createSession, invalidateSession, SESSION_COOKIE, validateSessionToken } from '../../core/auth/sessions.js';
import { MAX_PASSWORD_LENGTH } from '../../core/crypto/password.js';
import { UnauthorizedError } from '../../core/errors.js';
import { clientAddress } from '../client-address.js';
import { Layout } from '../components/Layout.js';
import type { AppDeps } from '../deps.js';
import { consoleCsrf } from '../middleware/csrf.js';
import { clearSessionCookie, readSession, safeNext, setSessionCookie } from '../middleware/session.js';

/** The sign-in form's fields. */
const loginFormSchema = z.object({
  email: z.string().trim().toLowerCase().min(1).max(320),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  next: z.string().max(2_000).optional(),
});

type Env = { Bindings: Partial<HttpBindings> };

/** Props of `LoginView`. */
interface LoginViewProps {
  email?: string;
  next?: string | undefined;
  error?: string | undefined;
}

/** The sign-in page: e-mail, password, and the reason the last attempt failed. */
function LoginView({ email, next, error }: LoginViewProps) {
  return (
    <Layout title="Sign in">
      <div class="auth">
        <div class="brand">Anvil</div>
        <form class="panel" method="post" action="/login">
          <h1>Sign in</h1>
          <p class="sub">Operator console</p>
          {error && (
            <div class="alert" role="alert">
              {error}
            </div>
          )}
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required value={email ?? ''} />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          {next && <input type="hidden" name="next" value={next} />}
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}

/**
 * The sign-in section: `GET /login`, `POST /login` (form; 10 failures per client address
 * and per e-mail in 15 minutes, then 429 with Retry-After; the address is read as
 * TRUST_PROXY_HOPS says, see clientAddress) and `POST /logout`.
 */
export function loginPages(deps: AppDeps): Hono<Env> {
  const { db, config, logger } = deps;
  const throttle = new FailureThrottle(LOGIN_THROTTLE);
  const app = new Hono<Env>();
  // Scoped to its own paths: this sub-app is mounted at the root.
  app.use('/login', consoleCsrf(config));
  app.use('/logout', consoleCsrf(config));

  app.get('/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (await readSession(c, deps)) return c.redirect(next ?? '/tenants', 302);
    return c.html(<LoginView next={next} />);
  });

  app.post('/login', async (c) => {
    const parsed = loginFormSchema.safeParse(await c.req.parseBody());
    if (!parsed.success) {
      return c.html(<LoginView error="Enter your email and password." />, 400);
    }
    const { email, password } = parsed.data;
    const next = safeNext(parsed.data.next);
    const ip = clientAddress(
      c.env?.incoming?.socket?.remoteAddress,
      c.req.header('x-forwarded-for'),
      config.TRUST_PROXY_HOPS,
    );
    const keys = [`ip:${ip}`, `email:${email}`];
    const wait = throttle.retryAfterSeconds(keys);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      const minutes = Math.ceil(wait / 60);
      const error = `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      return c.html(<LoginView email={email} next={next} error={error} />, 429);
    }
    let operator: Awaited<ReturnType<typeof authenticateOperator>>;
    try {
      operator = await authenticateOperator(db, email, password);
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) throw err;
      throttle.fail(keys);
      logger.info({ email, ip: keys[0], code: err.code }, 'console sign-in refused');
      return c.html(<LoginView email={email} next={next} error={err.message || WRONG_CREDENTIALS} />, 401);
    }
    throttle.forgive([`email:${email}`]);
    const { token, session } = await createSession(db, operator.id);
    setSessionCookie(c, config, token, session.expiresAt);
    logger.info({ operatorId: operator.id }, 'console sign-in');
    return c.redirect(next ?? '/tenants', 303);
  });

  app.post('/logout', async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    const found = token ? await validateSessionToken(db, token) : undefined;
    if (found) await invalidateSession(db, found.session.id);
    clearSessionCookie(c, config);
    return c.redirect('/login', 303);
  });

  return app;
}
