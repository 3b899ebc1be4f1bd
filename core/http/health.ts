import { Hono } from 'hono';

/** A readiness check: resolves when the dependency is usable, throws (or rejects) when not. */
export type ReadinessCheck = () => unknown;

/** Result of one readiness check, as `/readyz` reports it. */
export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

/** Runs one check with a time limit. */
async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(check),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz` (the process is up) and `GET /readyz` (each dependency answers, as JSON
 * per dependency; 503 when any fails). Every service mounts these.
 */
export function healthRoutes(service: string, checks: Record<string, ReadinessCheck>, timeoutMs = 2_000): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok', service }));
  app.get('/readyz', async (c) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((n) => runCheck(checks[n] as ReadinessCheck, timeoutMs)));
    const report = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const ready = results.every((r) => r.ok);
    return c.json({ status: ready ? 'ready' : 'unavailable', service, checks: report }, ready ? 200 : 503);
  });
  return app;
}

/** A readiness check that the SQLite database answers a query. */
export const sqliteCheck =
  (sqlite: { prepare(sql: string): { get(): unknown } }): ReadinessCheck =>
  () => {
    sqlite.prepare('SELECT 1').get();
  };

/** A readiness check that an HTTP endpoint answers 2xx. */
export const httpCheck =
  (url: string, init?: RequestInit): ReadinessCheck =>
  async () => {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(1_500) });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    await res.body?.cancel();
  };
