/**
 * A fake Ollama server for tests: a real HTTP server on 127.0.0.1 speaking
 * Ollama's native API (/api/chat, /api/generate, /api/embed, /api/tags, …) and
 * its OpenAI-compatible API (/v1/chat/completions, /v1/embeddings, /v1/models),
 * with deterministic token counts and knobs for latency, errors and outages.
 */
import { listenLoopback, readBody, sendJson, sendText } from './http-util.js';
import { handleNative } from './ollama-native.js';
import { handleOpenAI } from './ollama-openai.js';
import { openAIErrorBody } from './ollama-respond.js';
import {
  canonicalModelName,
  type FakeOllamaOptions,
  type FakeOllamaRequestRecord,
  type MidStreamFault,
  type OllamaExchange,
  resolveOptions,
} from './ollama-shared.js';

/** Options and request records, defined with the handlers that fill them. */
export type { FakeOllamaOptions, FakeOllamaRequestRecord } from './ollama-shared.js';

/** A fault injected by failNext: the HTTP status and the error message to answer with. */
export interface FakeOllamaFault {
  status: number;
  error: string;
  /** Only requests to this exact path take the fault (default: any request). */
  path?: string;
}

/** Handle on a running fake Ollama. */
export interface FakeOllama {
  /** Base URL, `http://127.0.0.1:PORT` (use `${url}/v1` for OpenAI clients). */
  url: string;
  /** Every request received, in arrival order (the proxy's health checks too). */
  requests: FakeOllamaRequestRecord[];
  /**
   * The requests to one path (default `/api/chat`, the model calls), in arrival order.
   * Count these, not `requests`: a health check (`GET /api/tags`) may arrive at any time.
   */
  calls(path?: string): FakeOllamaRequestRecord[];
  /** Changes options for requests that arrive from now on. */
  configure(opts: Partial<FakeOllamaOptions>): void;
  /** Answers the next `count` requests with `status` and `{"error": "..."}` (OpenAI shape on /v1). */
  failNext(count: number, fault: FakeOllamaFault): void;
  /** The next streamed generation writes `afterChunks` content chunks, then an in-band error, and ends. */
  midStreamErrorNext(afterChunks: number, error: string): void;
  /** While down, new connections are destroyed at once; going down also kills open connections. */
  setDown(down: boolean): void;
  /** Stops the server and destroys open sockets. */
  close(): Promise<void>;
}

interface QueuedFault {
  remaining: number;
  fault: FakeOllamaFault;
}

function keepAliveMs(value: unknown): number {
  if (typeof value === 'number') return value < 0 ? 10 * 365 * 86_400_000 : value * 1000;
  if (typeof value === 'string') {
    const m = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    if (m?.[1]) {
      const n = Number(m[1]);
      if (n < 0) return 10 * 365 * 86_400_000;
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
      return n * unit;
    }
  }
  return 5 * 60_000;
}

/** Starts a fake Ollama on an ephemeral loopback port. */
export async function startFakeOllama(opts: FakeOllamaOptions = {}): Promise<FakeOllama> {
  let options = resolveOptions(undefined, opts);
  const requests: FakeOllamaRequestRecord[] = [];
  const faults: QueuedFault[] = [];
  const midStream: MidStreamFault[] = [];
  const loaded = new Map<string, number>();
  let down = false;

  const takeFault = (path: string): FakeOllamaFault | undefined => {
    const queued = faults.find((f) => f.remaining > 0 && (f.fault.path === undefined || f.fault.path === path));
    if (!queued) return undefined;
    queued.remaining--;
    if (queued.remaining === 0) faults.splice(faults.indexOf(queued), 1);
    return queued.fault;
  };

  const server = await listenLoopback(
    async (req, res) => {
      if (down) {
        req.socket.destroy();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const record: FakeOllamaRequestRecord = {
        id: requests.length + 1,
        path: url.pathname,
        body: undefined,
        headers: { ...req.headers },
        promptEvalCount: 0,
        evalCount: 0,
        finished: false,
        aborted: false,
      };
      requests.push(record);
      res.on('error', () => {});
      res.on('close', () => {
        if (!res.writableFinished) record.aborted = true;
      });
      const rawBody = (await readBody(req)).toString('utf8');
      if (rawBody !== '') {
        try {
          record.body = JSON.parse(rawBody);
        } catch {
          record.body = rawBody;
        }
      }
      const fault = takeFault(url.pathname);
      if (fault) {
        record.error = fault.error;
        const isV1 = url.pathname.startsWith('/v1/');
        sendJson(res, fault.status, isV1 ? openAIErrorBody(fault.status, fault.error) : { error: fault.error });
        return;
      }
      const ex: OllamaExchange = {
        req,
        res,
        path: url.pathname,
        record,
        rawBody,
        opts: options,
        startedAt: process.hrtime.bigint(),
        takeMidStreamFault: () => midStream.shift(),
        touchModel: (name, keepAlive) => {
          const key = canonicalModelName(name);
          const ms = keepAliveMs(keepAlive);
          if (ms === 0) loaded.delete(key);
          else loaded.set(key, Date.now() + ms);
        },
        loaded,
      };
      const handled = url.pathname.startsWith('/v1/') ? await handleOpenAI(ex) : await handleNative(ex);
      if (!handled) {
        record.error = '404 page not found';
        sendText(res, 404, '404 page not found');
      }
    },
    () => !down,
  );

  return {
    url: server.url,
    requests,
    calls: (path = '/api/chat') => requests.filter((r) => r.path === path),
    configure(patch) {
      options = resolveOptions(options, patch);
    },
    failNext(count, fault) {
      if (count > 0) faults.push({ remaining: count, fault: { ...fault } });
    },
    midStreamErrorNext(afterChunks, error) {
      midStream.push({ afterChunks: Math.max(0, afterChunks), error });
    },
    setDown(value) {
      down = value;
      if (value) server.destroySockets();
    },
    close: () => server.close(),
  };
}
