/**
 * Results of `npm run bench:proxy`: their JSON shape, the targets of issue 3 judged on
 * them, and the markdown tables printed and copied into docs/performance.md.
 */
import type { StreamLevel } from './load.js';

/** Which proxy a path goes through, and which API the client speaks. */
export interface PathInfo {
  key: string;
  via: 'direct' | 'bare' | 'anvil' | 'portkey';
  api: 'ollama' | 'openai';
  /** The direct path whose latency is subtracted to get the added latency. */
  baseline: string;
}

/** Latency and throughput of one path at one concurrency. */
export interface LatencyRow extends PathInfo {
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  addedP50Ms: number | null;
  addedP99Ms: number | null;
  rps: number;
  /** CPU the proxy process used per request (null for direct). */
  proxyCpuUsPerRequest: number | null;
  /** CPU the fake backend used per request. */
  fakeCpuUsPerRequest: number | null;
  /** Share of the machine's CPU time the hypervisor took while this row ran (stealPercent). */
  stealPct: number;
}

/** One level of concurrent streams on one path, with the proxy's peak RSS during it. */
export interface StreamRow extends StreamLevel {
  path: string;
  /** Peak VmRSS of the proxy process (of the fake, for direct) during the level. */
  peakRssBytes: number | null;
  /** Every stream completed, no gap between chunks over 1 s, and no first chunk over 1 s. */
  held: boolean;
  /** Every stream completed with no gap between chunks over 1 s (first chunks may have been late). */
  flowed: boolean;
  /** Anvil's event loop during the level: share of time busy, 99th percentile delay. */
  eventLoop: { utilization: number; delayP99Ms: number } | null;
  /** Share of the machine's CPU time the hypervisor took during the level (stealPercent). */
  stealPct: number;
}

/** One target of the issue and whether this run met it. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

/** Everything one run measured (bench/results/proxy.json). */
export interface ProxyBenchResult {
  date: string;
  command: string;
  machine: { cpus: number; model: string; node: string; loadavgStart: number[]; loadavgEnd: number[] };
  versions: { portkey: string };
  settings: Record<string, unknown>;
  latency: LatencyRow[];
  saturation: { path: string; rps: number; concurrency: number }[];
  streams: StreamRow[];
  targets: TargetCheck[];
  /** Anything that kept part of the run from being measured. */
  notes: string[];
}

const ms = (v: number | null) => (v === null ? '—' : v.toFixed(2));
const mb = (v: number | null) => (v === null ? '—' : `${Math.round(v / 1024 / 1024)} MB`);

/**
 * The largest stream level a path held (or, with `flowed`, kept flowing with late first
 * chunks allowed), with the RSS at that level.
 */
export function maxHeld(
  rows: StreamRow[],
  path: string,
  by: 'held' | 'flowed' = 'held',
): { streams: number; rssBytes: number | null } {
  const held = rows.filter((r) => r.path === path && r[by]).sort((a, b) => b.streams - a.streams)[0];
  return { streams: held?.streams ?? 0, rssBytes: held?.peakRssBytes ?? null };
}

/** Max req/s of each path over the concurrency levels (the last is meant to saturate). */
export function saturation(rows: LatencyRow[]): ProxyBenchResult['saturation'] {
  const best = new Map<string, LatencyRow>();
  for (const r of rows) if (!best.has(r.key) || (best.get(r.key) as LatencyRow).rps < r.rps) best.set(r.key, r);
  return [...best.values()].map((r) => ({ path: r.key, rps: Math.round(r.rps), concurrency: r.concurrency }));
}

/** Judges the targets of issue 3 (ratios within this run). */
export function checkTargets(
  latency: LatencyRow[],
  sat: ProxyBenchResult['saturation'],
  streams: StreamRow[],
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const [concurrency, limit] of [
    [1, 1],
    [16, 3],
  ] as const) {
    for (const key of ['anvil-ollama', 'anvil-openai']) {
      const row = latency.find((r) => r.key === key && r.concurrency === concurrency);
      const added = row?.addedP99Ms ?? Number.NaN;
      checks.push({
        target: `${key}: added p99 at concurrency ${concurrency} < ${limit} ms`,
        measured: `${ms(added)} ms`,
        met: added < limit,
      });
    }
  }
  const rps = (key: string) => sat.find((s) => s.path === key)?.rps ?? Number.NaN;
  for (const key of ['anvil-openai', 'anvil-ollama']) {
    const ratio = rps(key) / rps('portkey-openai');
    checks.push({
      target: `${key}: req/s at saturation ≥ 3× portkey-openai`,
      measured: `${rps(key)} vs ${rps('portkey-openai')} req/s (${ratio.toFixed(2)}×)`,
      met: ratio >= 3,
    });
  }
  for (const key of ['anvil-ollama', 'anvil-openai']) {
    const best = maxHeld(streams, key);
    const flowing = maxHeld(streams, key, 'flowed');
    const at1000 = streams.find((r) => r.path === key && r.streams === 1000);
    const rssOk = at1000?.held === true && (at1000.peakRssBytes ?? Number.POSITIVE_INFINITY) < 300 * 1024 * 1024;
    checks.push({
      target: `${key}: ≥ 1,000 concurrent streams without a stall, < 300 MB RSS`,
      measured:
        `${best.streams} held (RSS ${mb(best.rssBytes)}); ${flowing.streams} without a gap between chunks ` +
        `if late first chunks are allowed (RSS ${mb(flowing.rssBytes)}); at 1,000: RSS ${mb(at1000?.peakRssBytes ?? null)}`,
      met: best.streams >= 1000 && rssOk,
    });
  }
  return checks;
}

/** The run as markdown: latency table, saturation, streams and targets. */
export function markdown(r: ProxyBenchResult): string {
  const out: string[] = [];
  out.push(
    '| path | concurrency | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s | proxy CPU µs/req | CPU steal |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of r.latency) {
    const cpu = row.proxyCpuUsPerRequest === null ? '—' : Math.round(row.proxyCpuUsPerRequest).toString();
    const errors = row.errors ? ` (${row.errors} errors)` : '';
    out.push(
      `| ${row.key}${errors} | ${row.concurrency} | ${ms(row.p50Ms)} | ${ms(row.p99Ms)} | ${ms(row.addedP50Ms)} | ${ms(row.addedP99Ms)} | ${Math.round(row.rps)} | ${cpu} | ${row.stealPct} % |`,
    );
  }
  out.push('', '| path | req/s at saturation | at concurrency |', '| --- | ---: | ---: |');
  for (const s of r.saturation) out.push(`| ${s.path} | ${s.rps} | ${s.concurrency} |`);

  out.push(
    '',
    '| streams | path | held | stalled | failed | max gap ms | first chunk p50 / p99 / max ms | peak RSS | event loop busy | CPU steal |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const s of r.streams) {
    const first = [s.firstChunkP50Ms, s.firstChunkP99Ms, s.maxFirstChunkMs].map((v) => Math.round(v)).join(' / ');
    out.push(
      `| ${s.streams} | ${s.path} | ${s.held ? 'yes' : s.flowed ? '**late first chunks**' : '**no**'} | ${s.stalled} | ${s.failed} | ${Math.round(s.maxGapMs)} | ${first} | ${mb(s.peakRssBytes)} | ${s.eventLoop ? `${Math.round(s.eventLoop.utilization * 100)}%` : '—'} | ${s.stealPct} % |`,
    );
  }
  out.push('', '| target | measured | met |', '| --- | --- | --- |');
  for (const t of r.targets) out.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  for (const note of r.notes) out.push('', `Note: ${note}`);
  return out.join('\n');
}
