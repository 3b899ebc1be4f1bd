import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestApp, testApp } from './helpers.js';

let t: TestApp | undefined;
let proxy: Server | undefined;
afterEach(async () => {
  await t?.cleanup();
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  t = undefined;
  proxy = undefined;
});

/** A stand-in model proxy whose /healthz answers `status`. */
async function fakeProxy(status: number): Promise<string> {
  proxy = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? status : 404, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => proxy?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

describe('health routes', () => {
  it('GET /healthz answers 200 without a session', async () => {
    t = testApp();
    const res = await t.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', service: 'app' });
  });

  it('GET /readyz answers 200 with each dependency when the model proxy answers', async () => {
    t = testApp({ MODEL_PROXY_URL: await fakeProxy(200) });
    const res = await t.app.request('/readyz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.modelProxy?.ok).toBe(true);
  });

  it('GET /readyz answers 503 naming the model proxy when it is down or unhealthy', async () => {
    t = testApp(); // MODEL_PROXY_URL points at a closed port
    const down = await t.app.request('/readyz');
    expect(down.status).toBe(503);
    const body = (await down.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.status).toBe('unavailable');
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.modelProxy?.ok).toBe(false);
    await t.cleanup();
    t = testApp({ MODEL_PROXY_URL: await fakeProxy(500) });
    const unhealthy = await t.app.request('/readyz');
    expect(unhealthy.status).toBe(503);
  });
});
