import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientAddress } from '../../app/client-address.js';
import { FailureThrottle } from '../../core/auth/login-throttle.js';
import { makeOperator, ORIGIN, PASSWORD, postLogin, sessionCookie, signIn, type TestApp, testApp } from './helpers.js';

let t: TestApp;
beforeEach(async () => {
  t = testApp();
  await makeOperator(t, 'admin', 'ops@example.com');
});
afterEach(async () => {
  await t.cleanup();
});

const sessionCount = async () => (await t.db.kysely.selectFrom('console_sessions').select('id').execute()).length;

describe('GET /login', () => {
  it('shows the sign-in form', async () => {
    const res = await t.app.request('/login');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<form class="panel" method="post" action="/login">');
    expect(html).toContain('name="password" type="password"');
  });

  it('sends an operator who is already signed in on to the console', async () => {
    const cookie = await signIn(t, 'ops@example.com');
    const res = await t.app.request('/login', { headers: { cookie } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/tenants');
  });
});

describe('POST /login', () => {
  it('signs in: a session row and an HttpOnly, SameSite=Lax, Path=/ cookie, then on to /tenants', async () => {
    const res = await postLogin(t, { email: 'OPS@example.com', password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tenants');
    const line = res.headers.getSetCookie().find((l) => l.startsWith('anvil_session='));
    expect(line).toMatch(/^anvil_session=[a-z2-7]{24}\.[a-z2-7]{32};/);
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; SameSite=Lax/);
    expect(line).toMatch(/; Path=\//);
    expect(line).toMatch(/; Expires=/);
    expect(line).not.toMatch(/; Secure/); // PUBLIC_URL is http://localhost:8080
    expect(await sessionCount()).toBe(1);
    const page = await t.app.request('/tenants', { headers: { cookie: sessionCookie(res) ?? '' } });
    expect(page.status).toBe(200);
  });

  it('marks the cookie Secure when PUBLIC_URL is https', async () => {
    await t.cleanup();
    t = testApp({ PUBLIC_URL: 'https://console.example.com' });
    await makeOperator(t, 'admin', 'ops@example.com');
    const res = await postLogin(
      t,
      { email: 'ops@example.com', password: PASSWORD },
      { origin: 'https://console.example.com' },
    );
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().find((l) => l.startsWith('anvil_session='))).toMatch(/; Secure/);
  });

  it('answers a wrong password and an unknown e-mail alike: 401, generic message, e-mail kept, no session', async () => {
    for (const fields of [
      { email: 'ops@example.com', password: 'wrong password here' },
      { email: 'nobody@example.com', password: PASSWORD },
    ]) {
      const res = await postLogin(t, fields);
      expect(res.status).toBe(401);
      const html = await res.text();
      expect(html).toContain('Wrong email or password.');
      expect(html).toContain(`value="${fields.email}"`);
      expect(sessionCookie(res)).toBeUndefined();
    }
    expect(await sessionCount()).toBe(0);
  });

  it('answers an empty form with 400 and no session', async () => {
    const res = await postLogin(t, { email: '', password: '' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Enter your email and password.');
    expect(await sessionCount()).toBe(0);
  });

  it('refuses a form posted from another origin (CSRF) with 403 and signs no one in', async () => {
    const res = await postLogin(
      t,
      { email: 'ops@example.com', password: PASSWORD },
      { origin: 'https://evil.example' },
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('sent from another site');
    expect(await sessionCount()).toBe(0);
    const noOrigin = await t.app.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'ops@example.com', password: PASSWORD }).toString(),
    });
    expect(noOrigin.status).toBe(403);
  });

  it('returns to a same-site `next` path but never to another site', async () => {
    const back = await postLogin(t, { email: 'ops@example.com', password: PASSWORD, next: '/tenants/acme' });
    expect(back.headers.get('location')).toBe('/tenants/acme');
    for (const next of ['//evil.example/x', '/\\evil.example', 'https://evil.example']) {
      const res = await postLogin(t, { email: 'ops@example.com', password: PASSWORD, next });
      expect(res.headers.get('location')).toBe('/tenants');
    }
  });
});

describe('login rate limit', () => {
  it('after 10 failures for one e-mail answers 429 with Retry-After, even to the right password', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await postLogin(t, { email: 'ops@example.com', password: `wrong password ${i}` })).status).toBe(401);
    }
    const blocked = await postLogin(t, { email: 'ops@example.com', password: PASSWORD });
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(await blocked.text()).toContain('Too many failed sign-ins');
    expect(await sessionCount()).toBe(0);
  });

  it('after 10 failures from one address blocks other e-mails from it too', async () => {
    for (let i = 0; i < 10; i++) await postLogin(t, { email: `guess${i}@example.com`, password: 'wrong password' });
    const res = await postLogin(t, { email: 'ops@example.com', password: PASSWORD });
    expect(res.status).toBe(429);
  });

  it('behind a trusted proxy counts each client by X-Forwarded-For, so one guesser does not lock out the rest', async () => {
    await t.cleanup();
    t = testApp({ TRUST_PROXY_HOPS: '1' });
    await makeOperator(t, 'admin', 'ops@example.com');
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    // The guesser writes its own X-Forwarded-For too; the proxy appends the real address.
    for (let i = 0; i < 10; i++) {
      await postLogin(t, { email: `guess${i}@example.com`, password: 'wrong' }, from(`10.0.0.${i}, 203.0.113.5`));
    }
    expect((await postLogin(t, { email: 'ops@example.com', password: PASSWORD }, from('203.0.113.5'))).status).toBe(
      429,
    );
    expect((await postLogin(t, { email: 'ops@example.com', password: PASSWORD }, from('198.51.100.7'))).status).toBe(
      303,
    );
  });

  it('without a trusted proxy ignores X-Forwarded-For, which anyone can write', async () => {
    for (let i = 0; i < 10; i++) {
      await postLogin(t, { email: `guess${i}@example.com`, password: 'wrong' }, { 'x-forwarded-for': `10.0.0.${i}` });
    }
    const res = await postLogin(
      t,
      { email: 'ops@example.com', password: PASSWORD },
      { 'x-forwarded-for': '198.51.100.7' },
    );
    expect(res.status).toBe(429);
  });

  it('clientAddress takes the entry the trusted proxies wrote, never one further left', () => {
    expect(clientAddress('10.1.1.1', '6.6.6.6', 0)).toBe('10.1.1.1');
    expect(clientAddress('10.1.1.1', '6.6.6.6, 203.0.113.5', 1)).toBe('203.0.113.5');
    expect(clientAddress('10.1.1.2', '6.6.6.6, 203.0.113.5, 10.1.1.1', 2)).toBe('203.0.113.5');
    // Did not pass through every proxy: the peer, not a client-written entry.
    expect(clientAddress('10.1.1.1', undefined, 1)).toBe('10.1.1.1');
    expect(clientAddress('10.1.1.1', '203.0.113.5', 2)).toBe('10.1.1.1');
    expect(clientAddress(undefined, undefined, 0)).toBe('unknown');
  });

  it('FailureThrottle forgets a window once it ends and forgives on success', () => {
    const throttle = new FailureThrottle({ maxFailures: 2, windowMs: 1000 });
    throttle.fail(['a', 'b'], 0);
    throttle.fail(['a'], 10);
    expect(throttle.retryAfterSeconds(['a'], 10)).toBe(1);
    expect(throttle.retryAfterSeconds(['b'], 10)).toBe(0);
    expect(throttle.retryAfterSeconds(['a', 'b'], 1000)).toBe(0);
    throttle.fail(['c'], 0);
    throttle.fail(['c'], 0);
    throttle.forgive(['c']);
    expect(throttle.retryAfterSeconds(['c'], 1)).toBe(0);
  });

  it('FailureThrottle keeps at most maxKeys windows', () => {
    const throttle = new FailureThrottle({ maxFailures: 1, windowMs: 60_000, maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) throttle.fail([k], 0);
    expect(throttle.retryAfterSeconds(['a'], 1)).toBe(0); // the oldest was dropped
    expect(throttle.retryAfterSeconds(['d'], 1)).toBe(60);
  });
});

describe('POST /logout', () => {
  it('deletes the session and clears the cookie; the old cookie no longer signs in', async () => {
    const cookie = await signIn(t, 'ops@example.com');
    const res = await t.app.request('/logout', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    expect(res.headers.getSetCookie().join()).toMatch(/anvil_session=;.*Max-Age=0/);
    expect(await sessionCount()).toBe(0);
    const after = await t.app.request('/tenants', { headers: { cookie } });
    expect(after.status).toBe(302);
  });

  it('is refused from another origin, leaving the session alive', async () => {
    const cookie = await signIn(t, 'ops@example.com');
    const res = await t.app.request('/logout', {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(403);
    expect(await sessionCount()).toBe(1);
  });
});
