/**
 * The child processes of `npm run bench:proxy`: started with their output in a log file,
 * waited for until they serve, measured (RSS from /proc) and always stopped, even when
 * the benchmark fails or is interrupted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { ChildMessage, ParentMessage, ReadyMessage } from './protocol.js';

/** A running child process. */
export interface Child {
  name: string;
  pid: number;
  url: string;
  /** What the child reported when ready (e.g. an API key). */
  detail: Record<string, string>;
  /** Sends a message over IPC and resolves on the child's next message. */
  request(message: ParentMessage): Promise<ChildMessage>;
  /** Stops the child: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every child still running (synchronous, for exit handlers). */
export function killAllNow(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

/** How to start one child and know that it serves. */
export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Its stdout and stderr go here. */
  logFile: string;
  /**
   * `ipc`: the child sends a ReadyMessage. Otherwise a URL polled until it answers 200;
   * `url` is then the child's base URL.
   */
  ready: 'ipc' | { poll: string; url: string };
  timeoutMs?: number;
}

/** Starts a child and resolves once it serves; rejects (and kills it) if it does not in time. */
export async function startChild(spec: ChildSpec): Promise<Child> {
  const log = openSync(spec.logFile, 'w');
  const child = spawn(spec.command, spec.args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const timeoutMs = spec.timeoutMs ?? 60_000;
  try {
    const ready = await Promise.race([
      spec.ready === 'ipc' ? waitForMessage(child, 'ready') : pollReady(spec.ready, timeoutMs),
      exited.then(() => {
        throw new Error(`${spec.name} exited before it served (exit ${child.exitCode}); see ${spec.logFile}`);
      }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${spec.name} did not serve within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
    return {
      name: spec.name,
      pid: child.pid as number,
      url: ready.url,
      detail: ready.detail,
      request(message) {
        const reply = waitForMessage(child);
        child.send(message);
        return reply;
      },
      async stop(graceMs = 3_000) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function waitForMessage(child: ChildProcess): Promise<ChildMessage>;
function waitForMessage(child: ChildProcess, type: 'ready'): Promise<ReadyMessage>;
function waitForMessage(child: ChildProcess, type?: ChildMessage['type']): Promise<ChildMessage> {
  return new Promise((resolve) => {
    const onMessage = (m: ChildMessage) => {
      if (type && m.type !== type) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
  });
}

async function pollReady(ready: { poll: string; url: string }, timeoutMs: number): Promise<ReadyMessage> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(ready.poll).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { type: 'ready', url: ready.url, detail: {} };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${ready.poll} did not answer within ${timeoutMs} ms`);
}

/** A TCP port free on 127.0.0.1 right now (for a child that cannot be told to use port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resident memory of a process in bytes (VmRSS from /proc), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** The machine's CPU time so far, in ticks of all CPUs together (/proc/stat's first line). */
export interface HostTicks {
  total: number;
  /** Time the hypervisor ran something else while this machine had work (`steal`). */
  steal: number;
}

export function hostTicks(): HostTicks {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, steal: fields[7] ?? 0 };
  } catch {
    return { total: Number.NaN, steal: Number.NaN };
  }
}

/**
 * The share of CPU time the hypervisor took away since `before`, in percent. On a shared
 * host this is the noise no benchmark can remove: a phase with a few percent of steal has
 * its tail latencies decided by it, so the benchmarks report it beside their figures.
 */
export function stealPercent(before: HostTicks, after = hostTicks()): number {
  const total = after.total - before.total;
  return total > 0 ? Math.round(((after.steal - before.steal) / total) * 10_000) / 100 : Number.NaN;
}
