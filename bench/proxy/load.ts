/**
 * The load generator of `npm run bench:proxy`: closed-loop request latency at a fixed
 * concurrency, and many concurrent streams watched for stalls. Plain node:http over a
 * keep-alive agent, so what is timed is the path, not connection setup.
 */
import http from 'node:http';

/** One way to reach the fake backend: directly, through Anvil or through Portkey. */
export interface Target {
  /** e.g. `anvil /api/chat`. */
  name: string;
  /** Base URL, `http://127.0.0.1:PORT`. */
  base: string;
  path: string;
  headers: Record<string, string>;
  /** The non-streamed request body. */
  body: string;
  /** The streamed request body. */
  streamBody: string;
}

/** A keep-alive agent with room for every connection the benchmark opens. */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 8_192, maxFreeSockets: 8_192, scheduling: 'lifo' });
}

/** What a batch of requests at one concurrency measured. */
export interface Batch {
  /** Latency of each successful request, ms. */
  latencies: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
}

/**
 * POSTs one request and resolves with its status once the whole body has arrived; the
 * body's text is kept when `keepText` (or the status is not 200), otherwise discarded.
 */
function send(
  agent: http.Agent,
  t: Target,
  body: string,
  keepText: boolean,
): Promise<{ status: number; text: string }> {
  const url = new URL(t.path, t.base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { ...t.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        if (keepText || status !== 200) {
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
        } else res.on('data', () => {});
        res.on('end', () => resolve({ status, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends one request and returns its whole answer (for the check before measuring). */
export function fetchOnce(agent: http.Agent, t: Target, stream: boolean): Promise<{ status: number; text: string }> {
  return send(agent, t, stream ? t.streamBody : t.body, true);
}

/** Sends `count` non-streamed requests from `concurrency` workers, each waiting for its answer. */
export async function closedLoop(agent: http.Agent, t: Target, concurrency: number, count: number): Promise<Batch> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      issued++;
      const started = performance.now();
      try {
        const { status, text } = await send(agent, t, t.body, false);
        if (status === 200) latencies.push(performance.now() - started);
        else {
          errors++;
          firstError ??= `${status} ${text.slice(0, 300)}`;
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, errors, ...(firstError ? { firstError } : {}), elapsedMs: performance.now() - started };
}

/** What one level of concurrent streams measured. */
export interface StreamLevel {
  streams: number;
  /** Streams that ended with their final chunk. */
  completed: number;
  failed: number;
  /** Streams with a gap of more than `stallMs` between two of their chunks. */
  stalled: number;
  /** Largest gap between two chunks of one stream, ms. */
  maxGapMs: number;
  /** Streams whose first chunk came more than `stallMs` after the request (not a stall: no chunk came before). */
  slowStarts: number;
  /** Time from sending a request to its first chunk, ms: median, 99th percentile, largest. */
  firstChunkP50Ms: number;
  firstChunkP99Ms: number;
  maxFirstChunkMs: number;
  firstError?: string;
  elapsedMs: number;
}

/** How a stream level is run. */
export interface StreamOptions {
  /** Streams are opened evenly over this many ms (a burst of thousands of SYNs is not the test). */
  rampMs: number;
  /** A gap longer than this between chunks is a stall. */
  stallMs: number;
  /** A stream not finished by then is failed. */
  timeoutMs: number;
  /** Whether a complete answer's tail looks right (the final NDJSON line or `[DONE]`). */
  complete(tail: string): boolean;
}

/** Opens `n` streamed requests at once (ramped) and watches every gap between their chunks. */
export async function holdStreams(agent: http.Agent, t: Target, n: number, o: StreamOptions): Promise<StreamLevel> {
  const url = new URL(t.path, t.base);
  const level: StreamLevel = {
    streams: n,
    completed: 0,
    failed: 0,
    stalled: 0,
    maxGapMs: 0,
    slowStarts: 0,
    firstChunkP50Ms: 0,
    firstChunkP99Ms: 0,
    maxFirstChunkMs: 0,
    elapsedMs: 0,
  };
  const firstChunks: number[] = [];
  const fail = (message: string) => {
    level.failed++;
    level.firstError ??= message;
  };
  const one = (delayMs: number) =>
    new Promise<void>((resolve) => {
      setTimeout(() => {
        const sent = performance.now();
        let last = sent;
        let stalled = false;
        let tail = '';
        let settled = false;
        const done = (ok: boolean, message?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (stalled) level.stalled++;
          if (ok) level.completed++;
          else fail(message ?? 'failed');
          resolve();
        };
        const req = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              ...t.headers,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(t.streamBody),
            },
          },
          (res) => {
            res.setEncoding('utf8');
            let first = true;
            res.on('data', (chunk: string) => {
              const now = performance.now();
              const gap = now - last;
              last = now;
              if (first) {
                first = false;
                firstChunks.push(gap);
                if (gap > o.stallMs) level.slowStarts++;
              } else {
                level.maxGapMs = Math.max(level.maxGapMs, gap);
                if (gap > o.stallMs) stalled = true;
              }
              tail = (tail + chunk).slice(-400);
            });
            res.on('end', () => {
              if (performance.now() - last > o.stallMs) stalled = true;
              const ok = res.statusCode === 200 && o.complete(tail);
              done(ok, ok ? undefined : `${res.statusCode}: ${tail.slice(-200)}`);
            });
            res.on('error', (err) => done(false, err.message));
          },
        );
        const timer = setTimeout(() => {
          req.destroy(new Error(`not finished within ${o.timeoutMs} ms`));
        }, o.timeoutMs);
        req.on('error', (err) => done(false, err.message));
        req.end(t.streamBody);
      }, delayMs);
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => one((i * o.rampMs) / n)));
  level.elapsedMs = performance.now() - started;
  firstChunks.sort((a, b) => a - b);
  level.firstChunkP50Ms = quantile(firstChunks, 0.5);
  level.firstChunkP99Ms = quantile(firstChunks, 0.99);
  level.maxFirstChunkMs = firstChunks.at(-1) ?? 0;
  return level;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
