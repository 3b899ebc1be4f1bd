/**
 * `npm run bench:startup`: how long `npm start` takes, from an empty data directory, until
 * the console, the gateway and the model proxy all answer /healthz (target: under 10 s).
 * Also times a restart on the now-initialised data dir and the compiled build
 * (`node dist/scripts/start.js`, what the image runs) when `dist/` exists.
 * Prints a table and writes bench/results/startup.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const URLS = ['http://127.0.0.1:8080/healthz', 'http://127.0.0.1:8081/healthz', 'http://127.0.0.1:11435/healthz'];
const RUNS = Number(process.env.RUNS ?? 3);

/** Starts a command, returns ms until all three services are healthy, then stops it. */
async function timeStart(cmd: string, args: string[], dataDir: string): Promise<number> {
  const started = performance.now();
  const child = spawn(cmd, args, {
    env: { ...process.env, ANVIL_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    detached: true,
    stdio: 'ignore',
  });
  const pending = new Set(URLS);
  try {
    while (pending.size) {
      if (performance.now() - started > 60_000) throw new Error('not healthy within 60 s');
      for (const url of [...pending])
        if (
          await fetch(url).then(
            (r) => r.ok,
            () => false,
          )
        )
          pending.delete(url);
      if (pending.size) await new Promise((r) => setTimeout(r, 25));
    }
    return performance.now() - started;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
    // The next run must not be answered by this one's last breath.
    while (
      await fetch(URLS[0] as string).then(
        () => true,
        () => false,
      )
    )
      await new Promise((r) => setTimeout(r, 25));
  }
}

const cases: { name: string; cmd: string; args: string[]; fresh: boolean }[] = [
  { name: 'npm start, empty data dir', cmd: 'npm', args: ['start'], fresh: true },
  { name: 'npm start, existing data dir', cmd: 'npm', args: ['start'], fresh: false },
];
if (existsSync('dist/scripts/start.js')) {
  cases.push({
    name: 'node dist/scripts/start.js, empty data dir',
    cmd: 'node',
    args: ['dist/scripts/start.js'],
    fresh: true,
  });
}

const rows: { case: string; runs: number; min_ms: number; median_ms: number; max_ms: number }[] = [];
for (const c of cases) {
  const times: number[] = [];
  const shared = mkdtempSync(path.join(tmpdir(), 'anvil-bench-'));
  for (let i = 0; i < RUNS; i++) {
    const dir = c.fresh ? mkdtempSync(path.join(tmpdir(), 'anvil-bench-')) : shared;
    times.push(await timeStart(c.cmd, c.args, dir));
    if (c.fresh) rmSync(dir, { recursive: true, force: true });
  }
  rmSync(shared, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  rows.push({
    case: c.name,
    runs: RUNS,
    min_ms: Math.round(times[0] ?? 0),
    median_ms: Math.round(times[Math.floor(RUNS / 2)] ?? 0),
    max_ms: Math.round(times.at(-1) ?? 0),
  });
}

console.log('| case | runs | min ms | median ms | max ms | under 10 s |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.case} | ${r.runs} | ${r.min_ms} | ${r.median_ms} | ${r.max_ms} | ${r.max_ms < 10_000 ? 'yes' : 'NO'} |`,
  );
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/startup.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
);
