import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createApp } from '../../app/server.js';
import { createOperator, type OperatorView } from '../../core/auth/operators.js';
import { SESSION_COOKIE } from '../../core/auth/sessions.js';
import type { Config } from '../../core/config/index.js';
import type { OperatorRole } from '../../core/db/schema.js';
import type { Logger } from '../../core/logger.js';
import { testConfig } from '../helpers/config.js';
import { type TempDb, tempDb } from '../helpers/temp-db.js';

/** The origin of the default PUBLIC_URL, as a browser on the console would send it. */
export const ORIGIN = 'http://localhost:8080';

/** A password that passes the policy, shared by the tests' operators. */
export const PASSWORD = 'correct horse battery staple';

/** A console app over a temporary database, with the log lines it wrote. */
export interface TestApp extends TempDb {
  app: ReturnType<typeof createApp>;
  config: Config;
  logger: Logger;
  /** Parsed JSON log lines, newest last. */
  logs: Record<string, unknown>[];
}

/** Builds the app over a fresh migrated database; `env` adds to or overrides the test environment. */
export function testApp(env: Record<string, string> = {}): TestApp {
  const tmp = tempDb();
  // Nothing listens on port 9 (discard): readiness of the proxy fails unless a test overrides it.
  const config = testConfig(tmp.dir, { MODEL_PROXY_URL: 'http://127.0.0.1:9', ...env });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return { ...tmp, app: createApp({ db: tmp.db, config, logger }), config, logger, logs };
}

/** Creates an operator with the shared password. */
export async function makeOperator(
  t: TempDb,
  role: OperatorRole = 'admin',
  email = `${role}@example.com`,
): Promise<OperatorView> {
  return createOperator(t.db, { email, password: PASSWORD, role }, { actor: 'test' });
}

/** Posts the sign-in form as a same-origin browser would. */
export function postLogin(t: TestApp, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return t.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The `anvil_session=…` pair from a response's Set-Cookie, or undefined. */
export function sessionCookie(res: Response): string | undefined {
  const line = res.headers.getSetCookie().find((l) => l.startsWith(`${SESSION_COOKIE}=`));
  return line?.split(';')[0];
}

/** Signs in through the form and returns the Cookie header value for later requests. */
export async function signIn(t: TestApp, email: string, password = PASSWORD): Promise<string> {
  const res = await postLogin(t, { email, password });
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`sign-in failed with ${res.status}`);
  return cookie;
}
