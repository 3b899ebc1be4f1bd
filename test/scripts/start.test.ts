import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

let child: ChildProcess | undefined;
const dir = mkdtempSync(path.join(tmpdir(), 'anvil-start-'));

afterAll(() => {
  // The group may be gone already even though npm reports no exit code (it died of a signal).
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves when every URL answered 200, polling every 100 ms. */
async function allHealthy(urls: string[], deadlineMs: number): Promise<void> {
  const started = Date.now();
  const pending = new Set(urls);
  while (pending.size > 0) {
    if (Date.now() - started > deadlineMs) throw new Error(`not healthy in time: ${[...pending].join(', ')}`);
    for (const url of [...pending]) {
      const ok = await fetch(url).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) pending.delete(url);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm start', () => {
  // How fast it starts is measured by `npm run bench:startup`, not here (CI is shared and noisy).
  it('answers /healthz on 8080, 8081 and 11435 from an empty data dir, and stops cleanly on SIGTERM', async () => {
    const output: string[] = [];
    child = spawn('npm', ['start'], {
      env: { ...process.env, ANVIL_DATA_DIR: dir, LOG_LEVEL: 'info', NODE_ENV: 'development' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    await allHealthy(
      ['http://127.0.0.1:8080/healthz', 'http://127.0.0.1:8081/healthz', 'http://127.0.0.1:11435/healthz'],
      45_000,
    );
    // First start generated the development secrets, readable by the owner only.
    expect(statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'internal.token')).mode & 0o777).toBe(0o600);
    expect(output.join('')).toMatch(/ANVIL_MASTER_KEY is not set: generated one/);

    const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
    // npm may exit before the service process has finished closing: wait for its last line.
    for (let i = 0; i < 100 && !/"msg":"stopped"/.test(output.join('')); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(output.join('')).toMatch(/"msg":"stopped"/);
    expect(
      await fetch('http://127.0.0.1:8080/healthz').then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  }, 60_000);
});
