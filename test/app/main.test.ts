import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../../app/main.js';
import { type TestApp, testApp } from './helpers.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
});

describe('startApp', () => {
  it('serves the console over HTTP until closed', async () => {
    t = testApp();
    const running = await startApp(t.config, t.logger, t.db);
    expect(running.name).toBe('app');
    expect(running.port).toBeGreaterThan(0); // APP_PORT=0: the OS chose one
    const res = await fetch(`http://127.0.0.1:${running.port}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    await running.close();
    await expect(fetch(`http://127.0.0.1:${running.port}/healthz`)).rejects.toThrow();
    await running.close(); // closing twice is harmless
  });

  it('rejects when the port is taken instead of crashing the process', async () => {
    t = testApp();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      await expect(startApp({ ...t.config, APP_PORT: port }, t.logger, t.db)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
