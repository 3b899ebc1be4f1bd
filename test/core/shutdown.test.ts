import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { coreModule } from './child-process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'anvil-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// onShutdown ends the process, so it runs in a child: one service whose close() takes
// CLOSE_MS (or never ends when CLOSE_MS is "never"), a database stub, and a line "ready"
// once the handlers are installed.
const script = path.join(dir, 'shutdown.mts');
writeFileSync(
  script,
  `
import { onShutdown } from ${coreModule('http/serve.ts')};
import { createLogger } from ${coreModule('logger.ts')};
const closeMs = process.env.CLOSE_MS;
const service = {
  name: 'slow',
  close: () => {
    console.log('closing');
    return closeMs === 'never' ? new Promise(() => {}) : new Promise((r) => setTimeout(r, Number(closeMs)));
  },
};
const db = { close: async () => console.log('db closed') };
onShutdown(createLogger('test'), [service], db, Number(process.env.DEADLINE_MS));
setInterval(() => {}, 1_000);
console.log('ready');
`,
);

/** Starts the child, sends `signals` at their delays (ms after "ready"), and reports how it ended. */
function run(
  env: Record<string, string>,
  signals: Array<[NodeJS.Signals, number]>,
): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve('.'),
      env: { PATH: process.env.PATH, DEADLINE_MS: '15000', ...env },
    });
    let output = '';
    let readyAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (readyAt === 0 && output.includes('ready')) {
        readyAt = Date.now();
        for (const [signal, delay] of signals) setTimeout(() => child.kill(signal), delay);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - readyAt }));
  });
}

describe('onShutdown', () => {
  it('takes a signal delivered twice (npm and the process group) as one request and stops cleanly', async () => {
    const { code, output } = await run({ CLOSE_MS: '300' }, [
      ['SIGTERM', 0],
      ['SIGTERM', 20],
    ]);
    expect(code).toBe(0);
    expect(output.match(/closing/g)).toHaveLength(1);
    expect(output).toContain('db closed');
    expect(output).toMatch(/"msg":"stopped"/);
  }, 30_000);

  it('exits at once on a second Ctrl-C a while after the first, without waiting for the close', async () => {
    const { code, output, ms } = await run({ CLOSE_MS: '20000' }, [
      ['SIGINT', 0],
      ['SIGINT', 3_000], // well past the 1 s in which a repeat counts as the same request
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/second signal while shutting down: exiting now/);
    expect(output).not.toMatch(/"msg":"stopped"/);
    expect(ms).toBeLessThan(15_000);
  }, 30_000);

  it('exits with an error when the close outlasts the deadline', async () => {
    const { code, output } = await run({ CLOSE_MS: 'never', DEADLINE_MS: '500' }, [['SIGTERM', 0]]);
    expect(code).toBe(1);
    expect(output).toMatch(/shutdown did not finish in time/);
    expect(output).not.toContain('db closed');
  }, 30_000);
});
