/**
 * `npm run bench:proxy`: the Anvil model proxy against the Portkey open-source gateway, in
 * one run, on the same fake Ollama, all on loopback. Three child processes (the fake, Anvil
 * as in production, Portkey as `npx @portkey-ai/gateway --headless` starts it) and this
 * process as the load generator. Measures, interleaving the paths so that a noisy
 * neighbour hits them alike:
 *
 * - latency p50/p99 at concurrency 1, 16 and 64 (closed loop, keep-alive) directly, through
 *   Anvil (`/api/chat` and `/v1/chat/completions`) and through Portkey
 *   (`/v1/chat/completions`, which it sends to Ollama's `/v1`); "added" is the path's
 *   percentile minus the direct path's (same API) in the same run;
 * - requests/second at saturation (the best of the levels);
 * - concurrent streams (a chunk every 100 ms) at 250…2000, opened at 250 a second and all
 *   open together for 5 s, with the proxy's peak VmRSS during each level. A level is held
 *   when every stream completes with no chunk more than 1 s after the previous one and no
 *   first chunk more than 1 s after its request; a path's ramp stops at its first level
 *   with a failure or a gap between chunks (so levels where only first chunks are late
 *   still run, to show how late they get).
 *
 * Prints markdown tables and writes bench/results/proxy.json. Environment knobs:
 * REQUESTS per path and level (2000), WARMUP (300), LEVELS ("1,16,64"),
 * STREAM_LEVELS ("250,500,1000,1500,2000"), BENCH_FAKE=test (use test/fakes/ollama.ts),
 * PROFILE=1 (Anvil runs with --cpu-prof into bench/results/prof/), PATHS (a comma-separated
 * subset of the path keys, e.g. "bare-ollama,anvil-ollama"), BENCH_RUNTIME=tsx (run
 * the children from source instead of a tsc build), PORTKEY_DIR (another Portkey install).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { prepareChildren } from './proxy/build.js';
import { type Child, cpuMs, freePort, hostTicks, rssBytes, startChild, stealPercent } from './proxy/children.js';
import { closedLoop, fetchOnce, holdStreams, keepAliveAgent, quantile, type Target } from './proxy/load.js';
import {
  checkTargets,
  type LatencyRow,
  markdown,
  type PathInfo,
  type ProxyBenchResult,
  type StreamRow,
  saturation,
} from './proxy/report.js';

const list = (v: string | undefined, d: string) => (v ?? d).split(',').filter(Boolean).map(Number);
const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const WARMUP = Number(process.env.WARMUP ?? 300);
const LEVELS = list(process.env.LEVELS, '1,16,64');
const STREAM_LEVELS = list(process.env.STREAM_LEVELS, '250,500,1000,1500,2000');
/** Only these paths (and the direct ones they are measured against), for quick iterations. */
const ONLY = process.env.PATHS?.split(',');
const ROUNDS = 4;
/**
 * Streams: a chunk every 100 ms; a level's streams open at `openPerSecond` (so the level tests
 * holding streams, not a burst of connections) and each lasts until all of them have been
 * open together for `holdMs`.
 */
const STREAM = { chunkDelayMs: 100, openPerSecond: 250, holdMs: 5_000, stallMs: 1_000 };
const RESULTS = fileURLToPath(new URL('results/', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PORTKEY = process.env.PORTKEY_DIR ?? `${ROOT}node_modules/@portkey-ai/gateway`;
const MODEL = 'llama3.1:8b';

/** A measured path: where it goes and which process to watch. */
interface BenchPath extends PathInfo {
  target: Target;
  /** The proxy's process (none for direct). */
  proxy?: Child;
}

const messages = [{ role: 'user', content: 'Say hello in five words.' }];
const ollamaBodies = {
  body: JSON.stringify({ model: MODEL, messages, stream: false }),
  streamBody: JSON.stringify({ model: MODEL, messages, stream: true }),
};
const openAiBodies = {
  body: JSON.stringify({ model: MODEL, messages, stream: false }),
  streamBody: JSON.stringify({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } }),
};

async function startAll(): Promise<{ fake: Child; bare: Child; anvil: Child; portkey: Child }> {
  mkdirSync(RESULTS, { recursive: true });
  const launch = prepareChildren(ROOT, RESULTS);
  const fakeCmd = launch('fake-child');
  const fake = await startChild({
    name: 'fake Ollama',
    command: fakeCmd.command,
    args: [...fakeCmd.args, `--impl=${process.env.BENCH_FAKE ?? 'fast'}`],
    logFile: `${RESULTS}proxy-fake.log`,
    ready: 'ipc',
  });
  const profile = process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${RESULTS}prof`] : [];
  const anvilCmd = launch('anvil-child');
  const bareCmd = launch('bare-child');
  const [bare, anvil, portkey] = await Promise.all([
    startChild({
      name: 'bare node proxy',
      command: bareCmd.command,
      args: [...bareCmd.args, fake.url],
      logFile: `${RESULTS}proxy-bare.log`,
      ready: 'ipc',
    }),
    startChild({
      name: 'Anvil model proxy',
      command: anvilCmd.command,
      args: [...profile, ...anvilCmd.args, fake.url],
      logFile: `${RESULTS}proxy-anvil.log`,
      ready: 'ipc',
    }),
    freePort().then((port) =>
      startChild({
        name: 'Portkey gateway',
        command: process.execPath,
        args: [`${PORTKEY}/build/start-server.js`, `--port=${port}`, '--headless'],
        logFile: `${RESULTS}proxy-portkey.log`,
        ready: { poll: `http://127.0.0.1:${port}/`, url: `http://127.0.0.1:${port}` },
      }),
    ),
  ]);
  return { fake, bare, anvil, portkey };
}

function paths(fake: Child, bare: Child, anvil: Child, portkey: Child): BenchPath[] {
  const auth = { authorization: `Bearer ${anvil.detail.key}` };
  const viaPortkey = { 'x-portkey-provider': 'ollama', 'x-portkey-custom-host': fake.url };
  return [
    {
      key: 'direct-ollama',
      via: 'direct',
      api: 'ollama',
      baseline: 'direct-ollama',
      target: { name: 'direct /api/chat', base: fake.url, path: '/api/chat', headers: {}, ...ollamaBodies },
    },
    {
      key: 'direct-openai',
      via: 'direct',
      api: 'openai',
      baseline: 'direct-openai',
      target: { name: 'direct /v1', base: fake.url, path: '/v1/chat/completions', headers: {}, ...openAiBodies },
    },
    {
      key: 'bare-ollama',
      via: 'bare',
      api: 'ollama',
      baseline: 'direct-ollama',
      proxy: bare,
      target: { name: 'bare node /api/chat', base: bare.url, path: '/api/chat', headers: {}, ...ollamaBodies },
    },
    {
      key: 'anvil-ollama',
      via: 'anvil',
      api: 'ollama',
      baseline: 'direct-ollama',
      proxy: anvil,
      target: { name: 'anvil /api/chat', base: anvil.url, path: '/api/chat', headers: auth, ...ollamaBodies },
    },
    {
      key: 'anvil-openai',
      via: 'anvil',
      api: 'openai',
      baseline: 'direct-openai',
      proxy: anvil,
      target: { name: 'anvil /v1', base: anvil.url, path: '/v1/chat/completions', headers: auth, ...openAiBodies },
    },
    {
      key: 'portkey-openai',
      via: 'portkey',
      api: 'openai',
      baseline: 'direct-openai',
      proxy: portkey,
      target: {
        name: 'portkey /v1',
        base: portkey.url,
        path: '/v1/chat/completions',
        headers: viaPortkey,
        ...openAiBodies,
      },
    },
  ];
}

/** A streamed answer ended properly: Ollama's final line or OpenAI's `[DONE]`. */
const complete = (api: PathInfo['api']) => (tail: string) =>
  api === 'ollama' ? tail.includes('"done":true') : tail.includes('data: [DONE]');

/**
 * Checks every path once, streamed and not, before measuring; fails loudly when one does
 * not answer as it should. Returns why Portkey's streaming cannot be measured, if it
 * cannot: with @hono/node-server newer than 1.14.2 (npm resolves the newest 1.x, and this
 * repo has 1.19) its streamed answers fail with `TypeError: immutable`
 * (Portkey-AI/gateway#1389), so its stream ramp is skipped rather than the whole run.
 */
async function smoke(all: BenchPath[]): Promise<string | undefined> {
  const agent = keepAliveAgent();
  let portkeyStreams: string | undefined;
  for (const p of all) {
    for (const stream of [false, true]) {
      const { status, text } = await fetchOnce(agent, p.target, stream);
      const ok = status === 200 && (stream ? complete(p.api)(text) : text.includes('tok1 tok2'));
      if (ok) continue;
      const why = `${p.key} (stream: ${stream}) answered ${status}: ${text.slice(0, 300)}`;
      if (p.via !== 'portkey' || !stream) throw new Error(why);
      portkeyStreams = `${why} (Portkey-AI/gateway#1389: @hono/node-server > 1.14.2; PORTKEY_DIR can point at an install with 1.14.1, see docs/performance.md)`;
    }
  }
  agent.destroy();
  return portkeyStreams;
}

async function measureLatency(all: BenchPath[], fake: Child): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  const agents = new Map(all.map((p) => [p.key, keepAliveAgent()]));
  const agentOf = (p: BenchPath) => agents.get(p.key) as Agent;
  for (const concurrency of LEVELS) {
    for (const p of all) await closedLoop(agentOf(p), p.target, concurrency, WARMUP);
    const acc = new Map(
      all.map((p) => [
        p.key,
        {
          latencies: [] as number[],
          errors: 0,
          firstError: '',
          ms: 0,
          proxyCpu: 0,
          fakeCpu: 0,
          host: { total: 0, steal: 0 },
        },
      ]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so no path always runs right after the same neighbour.
      const order = all.map((_, i) => all[(i + round) % all.length] as BenchPath);
      for (const p of order) {
        const a = acc.get(p.key) as NonNullable<ReturnType<typeof acc.get>>;
        const cpu0 = p.proxy ? (cpuMs(p.proxy.pid) ?? 0) : 0;
        const fake0 = cpuMs(fake.pid) ?? 0;
        const host0 = hostTicks();
        const batch = await closedLoop(agentOf(p), p.target, concurrency, REQUESTS / ROUNDS);
        const host1 = hostTicks();
        a.host.total += host1.total - host0.total;
        a.host.steal += host1.steal - host0.steal;
        a.proxyCpu += p.proxy ? (cpuMs(p.proxy.pid) ?? 0) - cpu0 : 0;
        a.fakeCpu += (cpuMs(fake.pid) ?? 0) - fake0;
        a.latencies.push(...batch.latencies);
        a.errors += batch.errors;
        a.firstError ||= batch.firstError ?? '';
        a.ms += batch.elapsedMs;
      }
    }
    const level: LatencyRow[] = all.map((p) => {
      const a = acc.get(p.key) as NonNullable<ReturnType<typeof acc.get>>;
      const sorted = a.latencies.sort((x, y) => x - y);
      const n = sorted.length + a.errors;
      return {
        key: p.key,
        via: p.via,
        api: p.api,
        baseline: p.baseline,
        concurrency,
        requests: n,
        errors: a.errors,
        ...(a.firstError ? { firstError: a.firstError } : {}),
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        meanMs: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length),
        addedP50Ms: null,
        addedP99Ms: null,
        rps: (sorted.length * 1000) / a.ms,
        proxyCpuUsPerRequest: p.proxy ? (a.proxyCpu * 1000) / n : null,
        fakeCpuUsPerRequest: (a.fakeCpu * 1000) / n,
        // The rounds' ticks added up, measured from zero.
        stealPct: stealPercent({ total: 0, steal: 0 }, a.host),
      };
    });
    for (const row of level) {
      const base = level.find((b) => b.key === row.baseline) as LatencyRow;
      if (row.key === row.baseline) continue;
      row.addedP50Ms = row.p50Ms - base.p50Ms;
      row.addedP99Ms = row.p99Ms - base.p99Ms;
    }
    rows.push(...level);
    process.stderr.write(`latency: concurrency ${concurrency} done\n`);
  }
  for (const a of agents.values()) a.destroy();
  return rows;
}

/** Runs one level of `n` streams on one path, watching the proxy's RSS and event loop. */
async function streamLevel(p: BenchPath, fake: Child, n: number): Promise<StreamRow> {
  const pid = p.proxy?.pid ?? fake.pid;
  let peak = rssBytes(pid) ?? 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid) ?? 0);
  }, 100);
  const rampMs = (n / STREAM.openPerSecond) * 1000;
  const tokens = Math.ceil((rampMs + STREAM.holdMs) / STREAM.chunkDelayMs) + 1;
  await fake.request({ type: 'configure', tokens, chunkDelayMs: STREAM.chunkDelayMs });
  const stats = async () => (p.via === 'anvil' ? p.proxy?.request({ type: 'stats' }) : undefined);
  await stats();
  const host = hostTicks();
  const agent = keepAliveAgent();
  const level = await holdStreams(agent, p.target, n, {
    rampMs,
    stallMs: STREAM.stallMs,
    timeoutMs: 120_000,
    complete: complete(p.api),
  });
  clearInterval(sampler);
  agent.destroy();
  const loop = await stats();
  const flowed = level.completed === n && level.stalled === 0;
  return {
    ...level,
    path: p.key,
    peakRssBytes: peak || null,
    held: flowed && level.slowStarts === 0,
    flowed,
    stealPct: stealPercent(host),
    eventLoop:
      loop?.type === 'stats' ? { utilization: loop.eventLoopUtilization, delayP99Ms: loop.eventLoopDelayP99Ms } : null,
  };
}

/** One line of progress about a stream level. */
function describe(r: StreamRow): string {
  const outcome = r.held ? 'held' : `${r.failed} failed, ${r.stalled} stalled, ${r.slowStarts} first chunks over 1 s`;
  const first = [r.firstChunkP50Ms, r.firstChunkP99Ms, r.maxFirstChunkMs].map(Math.round).join(' / ');
  const loop = r.eventLoop ? `, event loop busy ${Math.round(r.eventLoop.utilization * 100)}%` : '';
  const rss = Math.round((r.peakRssBytes ?? 0) / 1048576);
  return `streams: ${r.path} ${r.streams}: ${outcome}, max gap ${Math.round(r.maxGapMs)} ms, first chunk p50/p99/max ${first} ms, RSS ${rss} MB${loop}, CPU steal ${r.stealPct} %`;
}

async function measureStreams(all: BenchPath[], fake: Child, skipPortkey: boolean): Promise<StreamRow[]> {
  const streamPaths = all.filter((p) => p.key !== 'direct-openai' && !(skipPortkey && p.via === 'portkey'));
  const rows: StreamRow[] = [];
  const out = new Set<string>();
  for (const n of STREAM_LEVELS) {
    for (const p of streamPaths) {
      if (out.has(p.key)) continue;
      const row = await streamLevel(p, fake, n);
      rows.push(row);
      // The ramp goes on while streams still flow, to show how late the first chunks get.
      if (!row.flowed) out.add(p.key);
      process.stderr.write(`${describe(row)}\n`);
      await new Promise((r) => setTimeout(r, 500)); // let the closed sockets go before the next level
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const loadavgStart = os.loadavg();
  const children = await startAll();
  try {
    const { fake, bare, anvil, portkey } = children;
    const all = paths(fake, bare, anvil, portkey).filter(
      (p, _, every) => !ONLY || ONLY.includes(p.key) || every.some((q) => ONLY.includes(q.key) && q.baseline === p.key),
    );
    const portkeyStreams = await smoke(all);
    if (portkeyStreams) process.stderr.write(`Portkey streaming skipped: ${portkeyStreams}\n`);
    const latency = await measureLatency(all, fake);
    const streams = await measureStreams(all, fake, portkeyStreams !== undefined);
    const sat = saturation(latency);
    const result: ProxyBenchResult = {
      date: new Date().toISOString(),
      command: 'npm run bench:proxy',
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        loadavgStart,
        loadavgEnd: os.loadavg(),
      },
      versions: {
        portkey: (JSON.parse(readFileSync(`${PORTKEY}/package.json`, 'utf8')) as { version: string }).version,
      },
      settings: {
        requestsPerLevel: REQUESTS,
        warmup: WARMUP,
        rounds: ROUNDS,
        levels: LEVELS,
        streamLevels: STREAM_LEVELS,
        stream: STREAM,
        fake: fake.detail.impl,
        bare: 'child process, node:http pass-through with a keep-alive agent, nothing else (the floor)',
        anvil: 'child process, NODE_ENV=production, LOG_LEVEL=info, 4096 slots, enterprise plan, API key',
        portkey: 'child process, build/start-server.js --headless, provider ollama via x-portkey-custom-host',
      },
      latency,
      saturation: sat,
      streams,
      targets: checkTargets(latency, sat, streams),
      notes: portkeyStreams ? [`Portkey streaming not measured: ${portkeyStreams}`] : [],
    };
    writeFileSync(`${RESULTS}proxy.json`, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\n${markdown(result)}\n\nwritten: bench/results/proxy.json\n`);
  } finally {
    await Promise.all(Object.values(children).map((c) => c.stop()));
  }
}

await main();
