import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../core/crypto/tokens.js';
import type { Tenant } from '../../core/db/schema.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { UsageLedger, type UsageRecord } from '../../core/usage/ledger.js';
import { makeOperator, signIn, type TestApp, testApp } from './helpers.js';

let t: TestApp;
let cookie: string;
let acme: Tenant;

/** Adds an active member to a tenant. */
async function addUser(tenantId: string, name: string): Promise<void> {
  const at = Date.now();
  await t.db.kysely
    .insertInto('tenant_users')
    .values({
      id: newId(),
      tenant_id: tenantId,
      display_name: name,
      role: 'member',
      status: 'active',
      features: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

/** Records one model request through the ledger, as the model proxy does. */
function usage(
  tenantId: string,
  promptTokens: number,
  completionTokens: number,
  startedAt = Date.now(),
  model = 'llama3.1:8b',
): void {
  const r: UsageRecord = {
    requestId: newId(),
    tenantId,
    userId: null,
    apiKeyId: null,
    model,
    endpoint: '/api/chat',
    promptTokens,
    completionTokens,
    status: 'ok',
    backend: 'http://127.0.0.1:11434',
    startedAt,
    durationMs: 900,
    costMicros: 1_250_000,
    exact: true,
  };
  new UsageLedger(t.db).record(r);
}

beforeEach(async () => {
  t = testApp();
  await makeOperator(t, 'admin', 'ops@example.com');
  acme = await createTenant(
    t.db,
    t.sealer,
    { name: 'Acme Steel', slug: 'acme-steel', planId: 'starter' },
    { actor: 'test' },
  );
  await addUser(acme.id, 'Dana Smith');
  await addUser(acme.id, 'Lee Wong');
  await addUser(acme.id, 'Sam Ortiz');
  usage(acme.id, 300_000, 200_000); // 500,000 of the Starter plan's 2,000,000: 25 %
  const now = new Date();
  usage(acme.id, 999_000, 1_000, Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)); // last month: not counted
  cookie = await signIn(t, 'ops@example.com');
});
afterEach(async () => {
  await t.cleanup();
});

describe('access', () => {
  it('sends a visitor without a session to /login, remembering where they were going', async () => {
    const res = await t.app.request('/tenants/acme-steel');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?next=%2Ftenants%2Facme-steel');
    const list = await t.app.request('/tenants', { headers: { cookie: 'anvil_session=forged.token' } });
    expect(list.status).toBe(302);
    expect(list.headers.get('location')).toBe('/login?next=%2Ftenants');
  });

  it('redirects / to /tenants', async () => {
    const res = await t.app.request('/', { headers: { cookie } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/tenants');
  });
});

describe('GET /tenants', () => {
  it('lists a tenant with its plan, status, user count and this month’s tokens', async () => {
    const res = await t.app.request('/tenants', { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    const row = html.slice(html.indexOf('Acme Steel') - 200, html.indexOf('</tr>', html.indexOf('Acme Steel')));
    expect(row).toContain('href="/tenants/acme-steel"');
    expect(row).toContain('<td>starter</td>');
    expect(row).toContain('<span class="badge active">active</span>');
    expect(row).toContain('<td class="num">3</td>');
    expect(row).toContain('<td class="num">500,000</td>');
    expect(html).toContain('ops@example.com'); // who is signed in
  });

  it('draws the month’s tokens against the effective budget as an SVG bar', async () => {
    let html = await (await t.app.request('/tenants', { headers: { cookie } })).text();
    expect(html).toContain('aria-label="500,000 of 2,000,000 tokens this month (25%)"');
    expect(html).toContain('data-share="0.2500"');
    expect(html).toMatch(/<rect width="30" height="8" rx="4" fill="#1d4ed8">/); // 25 % of 120 px
    // A tenant's own budget overrides its plan's; over budget turns the bar red and full.
    await t.db.kysely.updateTable('tenants').set({ monthly_token_budget: 400_000 }).where('id', '=', acme.id).execute();
    html = await (await t.app.request('/tenants', { headers: { cookie } })).text();
    expect(html).toContain('aria-label="500,000 of 400,000 tokens this month (125%)"');
    expect(html).toMatch(/<rect width="120" height="8" rx="4" fill="#b91c1c">/);
  });

  it('says so when a tenant has no budget, and shows an empty state without tenants', async () => {
    await createTenant(t.db, t.sealer, { name: 'Big Corp', slug: 'big-corp', planId: 'enterprise' }, { actor: 'test' });
    await t.db.kysely.updateTable('plans').set({ monthly_token_budget: null }).where('id', '=', 'enterprise').execute();
    const html = await (await t.app.request('/tenants', { headers: { cookie } })).text();
    expect(html).toContain('0 · no limit');
    expect(html).toContain('25% of 2M');
    await t.db.kysely.deleteFrom('tenants').execute();
    const empty = await (await t.app.request('/tenants', { headers: { cookie } })).text();
    expect(empty).toContain('No tenants yet.');
  });
});

describe('GET /tenants/:slug', () => {
  it('shows the tenant’s users, plan limits and usage this month', async () => {
    usage(acme.id, 1_000, 500, Date.now(), 'nomic-embed-text');
    const res = await t.app.request('/tenants/acme-steel', { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const name of ['Dana Smith', 'Lee Wong', 'Sam Ortiz']) expect(html).toContain(`<td>${name}</td>`);
    expect(html).toContain('<dt>Monthly tokens</dt><dd>2,000,000</dd>');
    expect(html).toContain('<dt>Users</dt><dd>5</dd>');
    expect(html).toContain('<dt>Messages per day</dt><dd>100</dd>');
    expect(html).toContain('<b>501,500</b><span>tokens</span>');
    expect(html).toContain('<b>2</b><span>requests</span>');
    expect(html).toContain('<td class="mono">nomic-embed-text</td>');
    expect(html).toContain('<td class="num">300,000</td>'); // llama prompt tokens this month only
  });

  it('answers an unknown slug with a friendly 404 page', async () => {
    const res = await t.app.request('/tenants/nope', { headers: { cookie } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('no tenant with slug &quot;nope&quot;');
  });

  it('escapes tenant-supplied text', async () => {
    await addUser(acme.id, '<script>alert(1)</script>');
    const html = await (await t.app.request('/tenants/acme-steel', { headers: { cookie } })).text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
