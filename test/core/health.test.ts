import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, healthRoutes, httpCheck, sqliteCheck } from '../../core/http/health.js';
import { tempDb } from '../helpers/temp-db.js';

interface ReadyBody {
  status: string;
  service: string;
  checks: Record<string, CheckResult>;
}

describe('healthRoutes', () => {
  it('answers /healthz with 200 whatever the checks say', async () => {
    const app = healthRoutes('app', {
      broken: () => {
        throw new Error('down');
      },
    });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', service: 'app' });
  });

  it('answers /readyz with 200 and one entry per dependency when every check passes', async () => {
    const app = healthRoutes('gateway', { sync: () => undefined, async: async () => 'fine' });
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as ReadyBody;
    expect(body.status).toBe('ready');
    expect(body.service).toBe('gateway');
    expect(Object.keys(body.checks).sort()).toEqual(['async', 'sync']);
    for (const c of Object.values(body.checks)) {
      expect(c.ok).toBe(true);
      expect(c.ms).toBeGreaterThanOrEqual(0);
      expect(c.error).toBeUndefined();
    }
  });

  it('answers /readyz with 503 naming the failing and the hanging dependency', async () => {
    const app = healthRoutes(
      'model-proxy',
      {
        database: () => undefined,
        ollama: () => {
          throw new Error('connection refused');
        },
        qdrant: async () => {
          throw new Error('401 unauthorized');
        },
        searxng: () => new Promise(() => {}),
      },
      100,
    );
    const started = performance.now();
    const res = await app.request('/readyz');
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(elapsed).toBeLessThan(2_000);
    const body = (await res.json()) as ReadyBody;
    expect(body.status).toBe('unavailable');
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.ollama).toMatchObject({ ok: false, error: 'connection refused' });
    expect(body.checks.qdrant).toMatchObject({ ok: false, error: '401 unauthorized' });
    expect(body.checks.searxng?.ok).toBe(false);
    expect(body.checks.searxng?.error).toContain('100 ms');
    expect(body.checks.searxng?.ms).toBeGreaterThanOrEqual(90);
  });

  it('runs the checks in parallel', async () => {
    // Each check waits until all three have started: run one after another, they would
    // time out (the first would wait for the others forever).
    let started = 0;
    let allStarted: () => void = () => {};
    const barrier = new Promise<void>((r) => {
      allStarted = r;
    });
    const check = async () => {
      if (++started === 3) allStarted();
      await barrier;
    };
    const app = healthRoutes('app', { a: check, b: check, c: check }, 5_000);
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    expect(started).toBe(3);
  });

  it('is ready with no checks at all', async () => {
    const res = await healthRoutes('app', {}).request('/readyz');
    expect(res.status).toBe(200);
    expect(((await res.json()) as ReadyBody).checks).toEqual({});
  });
});

describe('sqliteCheck', () => {
  it('passes on an open database and fails once it is closed', async () => {
    const t = tempDb();
    const app = healthRoutes('app', { database: sqliteCheck(t.db.sqlite) });
    expect((await app.request('/readyz')).status).toBe(200);
    await t.cleanup();
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as ReadyBody).checks.database?.ok).toBe(false);
  });
});

describe('httpCheck', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : 500;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('passes on 2xx and fails with the status otherwise', async () => {
    const app = healthRoutes('app', { up: httpCheck(`${base}/ok`), sick: httpCheck(`${base}/sick`) });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as ReadyBody;
    expect(body.checks.up?.ok).toBe(true);
    expect(body.checks.sick?.ok).toBe(false);
    expect(body.checks.sick?.error).toContain('500');
  });
});
