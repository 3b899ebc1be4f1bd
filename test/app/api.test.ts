import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireOperator, requireRole, type SessionVariables } from '../../app/middleware/session.js';
import { makeOperator, ORIGIN, signIn, type TestApp, testApp } from './helpers.js';

let t: TestApp;
beforeEach(() => {
  t = testApp();
});
afterEach(async () => {
  await t.cleanup();
});

describe('/api', () => {
  it('answers 401 in Anvil’s JSON error shape without a session', async () => {
    const res = await t.app.request('/api/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({
      error: { code: 'unauthorized', message: 'Sign in first: this needs a console session.' },
    });
  });

  it('GET /api/me names the signed-in operator and never the password hash', async () => {
    const op = await makeOperator(t, 'viewer');
    const res = await t.app.request('/api/me', { headers: { cookie: await signIn(t, op.email) } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { operator: Record<string, unknown> };
    expect(body.operator).toEqual({ id: op.id, email: op.email, role: 'viewer' });
    expect(JSON.stringify(body)).not.toContain('argon2');
  });

  it('answers unknown API paths with a JSON 404 (after sign-in) and unknown pages with an HTML one', async () => {
    expect((await t.app.request('/api/nope')).status).toBe(401); // the API's shape stays private
    const op = await makeOperator(t, 'viewer');
    const api = await t.app.request('/api/nope', { headers: { cookie: await signIn(t, op.email) } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const page = await t.app.request('/nope');
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('There is no page at this address.');
  });
});

describe('requireRole', () => {
  /** Mounts a tiny admin-only write on the real app, as later sections will. */
  function mountAdminWrite(): void {
    const section = new Hono<{ Variables: SessionVariables }>();
    section.use('*', requireOperator(t));
    section.post('/danger', requireRole('admin'), (c) => c.json({ done: true, by: c.var.operator.email }));
    t.app.route('/api/test', section);
  }

  it('refuses a viewer with 403 JSON and lets admins and owners through', async () => {
    mountAdminWrite();
    const post = async (email: string) =>
      t.app.request('/api/test/danger', {
        method: 'POST',
        headers: { cookie: await signIn(t, email), origin: ORIGIN },
      });
    const viewer = await makeOperator(t, 'viewer');
    const admin = await makeOperator(t, 'admin');
    const owner = await makeOperator(t, 'owner');
    const refused = await post(viewer.email);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: { code: 'role', message: 'This needs the admin role; you are signed in as viewer.' },
    });
    expect((await post(admin.email)).status).toBe(200);
    expect(await (await post(owner.email)).json()).toEqual({ done: true, by: owner.email });
  });
});

describe('unexpected errors', () => {
  it('are answered 500 without details and logged with the request id', async () => {
    t.app.get('/api/boom/now', () => {
      throw new Error('database exploded: secret detail');
    });
    t.app.get('/boom', () => {
      throw new Error('page exploded');
    });
    const op = await makeOperator(t, 'viewer');
    const cookie = await signIn(t, op.email);
    const res = await t.app.request('/api/boom/now', { headers: { cookie, 'x-request-id': 'req-123' } });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal');
    expect(body.error.message).not.toContain('secret detail');
    const logged = t.logs.find((l) => l.msg === 'unexpected error');
    expect(logged).toMatchObject({ requestId: 'req-123', path: '/api/boom/now' });
    expect(JSON.stringify(logged)).toContain('database exploded');
    const page = await t.app.request('/boom', { headers: { 'x-request-id': 'req-456' } });
    expect(page.status).toBe(500);
    const html = await page.text();
    expect(html).toContain('Something went wrong');
    expect(html).toContain('req-456');
    expect(html).not.toContain('page exploded');
  });
});
