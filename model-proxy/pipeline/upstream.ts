import http from 'node:http';
import { UpstreamRefusedError, UpstreamUnavailableError } from '../../core/errors.js';

/** Keep-alive connections to the backends, shared by every request. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 4_096, maxFreeSockets: 256 });

/** A backend response whose headers have arrived. */
export interface Upstream {
  status: number;
  /** The response body, chunk by chunk as the backend sends it (a node stream: no web-stream layers). */
  body: http.IncomingMessage;
  /**
   * Asks the backend to stop generating without losing what it already sent: the
   * connection is half-closed (FIN), which Ollama (Go's net/http) sees as the client going
   * away and cancels the request; `body` keeps delivering the bytes already in flight and
   * then ends. So what the backend produced is exactly what the proxy reads.
   */
  stop(): void;
  /** Drops the connection at once (after `stop` if the backend does not end in time). */
  destroy(): void;
}

/**
 * Longest wait for a backend's response headers. Ollama answers headers when generation
 * starts, after loading the model, which can take minutes for a large one; a backend that
 * hangs past this frees its slot.
 */
export const HEADERS_TIMEOUT_MS = 300_000;

/** Thrown when no byte of the response arrived: safe to retry on another backend. */
export class BeforeFirstByteError extends UpstreamUnavailableError {
  override name = 'BeforeFirstByteError';
}

/**
 * POSTs the JSON text to `base + path` and resolves once the response headers arrive. Connection
 * failures and 5xx answers reject with `BeforeFirstByteError` (retryable); a 4xx rejects
 * with `UpstreamRefusedError` carrying Ollama's own message.
 */
export function openUpstream(base: string, path: string, json: string, signal?: AbortSignal): Promise<Upstream> {
  const url = origin(base);
  const payload = Buffer.from(json);
  const host = url.host;
  return new Promise((resolve, reject) => {
    const onAbort = () => req.destroy(new Error('aborted by the client'));
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname === '/' ? path : `${url.pathname.replace(/\/$/, '')}${path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        // From here the body's reader decides: a client that leaves is handled by stop(),
        // which lets the bytes already sent arrive; destroying now would lose them.
        signal?.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 502;
        if (status >= 400) {
          collect(res).then((text) => {
            const message = ollamaMessage(text, res.statusMessage ?? String(status));
            reject(
              status < 500
                ? new UpstreamRefusedError('Ollama', status, message)
                : new BeforeFirstByteError('Ollama', `${host} answered ${status}: ${message}`),
            );
          }, reject);
          return;
        }
        req.setTimeout(0); // streaming answers may pause between tokens; the client decides when to give up
        let stopping: NodeJS.Timeout | undefined;
        res.once('close', () => clearTimeout(stopping));
        resolve({
          status,
          body: res,
          stop() {
            if (req.socket && !req.socket.writableEnded) req.socket.end();
            // A backend that ignores the half-close is cut off after a grace period.
            stopping ??= setTimeout(() => req.destroy(), 2_000).unref();
          },
          destroy: () => req.destroy(),
        });
      },
    );
    req.setTimeout(HEADERS_TIMEOUT_MS, () =>
      req.destroy(new Error(`no response within ${HEADERS_TIMEOUT_MS / 1000} s`)),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    req.once('error', (err) => {
      if (signal?.aborted) return reject(signal.reason ?? err);
      const code = (err as NodeJS.ErrnoException).code ?? err.message;
      reject(new BeforeFirstByteError('Ollama', `${host} is unreachable (${code})`, { cause: err }));
    });
    req.end(payload);
  });
}

const origins = new Map<string, URL>();

/** A backend's base URL, parsed once (there are only a few). */
function origin(base: string): URL {
  let url = origins.get(base);
  if (!url) {
    url = new URL(base);
    origins.set(base, url);
  }
  return url;
}

/** Reads a whole (small) response body as text. */
export function collect(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    res.once('error', reject);
    res.once('aborted', () => reject(new Error('the backend closed the connection mid-answer')));
  });
}

/** Ollama's `{"error": "…"}` message, or the raw text. */
function ollamaMessage(text: string, fallback: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || fallback;
}
