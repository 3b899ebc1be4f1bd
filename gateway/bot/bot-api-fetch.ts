import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { ApiClientOptions } from 'grammy';

/** What grammY's API client passes to `fetch` (see `createJsonPayload` and `baseFetchConfig` in grammY). */
interface BotApiInit {
  method?: string;
  headers?: Record<string, string>;
  /** JSON text, or a multipart stream when a file is uploaded. */
  body?: string | Readable;
  /** grammY's keep-alive agent for the API root (not used: see `agents`). */
  agent?: HttpAgent;
  /** Native, or the abort-controller polyfill grammY uses. */
  signal?: {
    aborted: boolean;
    addEventListener(type: 'abort', listener: () => void): void;
    removeEventListener(type: 'abort', listener: () => void): void;
  };
}

/** The part of a fetch Response grammY reads: it calls `json()` and nothing else. */
interface BotApiResponse {
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}

// Every bot of the process shares these. Up to 1,024 idle connections are kept (Node keeps
// 256): after a burst of answers, the next one reuses connections instead of opening new ones.
const agents = {
  http: new HttpAgent({ keepAlive: true, maxFreeSockets: 1024 }),
  https: new HttpsAgent({ keepAlive: true, maxFreeSockets: 1024 }),
};

/**
 * grammY's `fetch` for every Anvil bot: one `node:http(s)` request on a keep-alive
 * connection, the answer read whole and parsed. grammY's default (node-fetch, a Request and
 * Headers object per call, and its AbortController polyfill) cost several times more CPU
 * than the request itself, and a gateway makes two or more Bot API calls per answered
 * message. A network failure or an abort rejects, which grammY turns into its `HttpError`.
 */
export function botApiFetch(url: string, init: BotApiInit = {}): Promise<BotApiResponse> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:');
    const { signal } = init;
    if (signal?.aborted) return reject(abortError());
    const headers: Record<string, string | number> = { ...init.headers };
    if (typeof init.body === 'string') headers['content-length'] = Buffer.byteLength(init.body);
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: init.method ?? 'GET', headers, agent: https ? agents.https : agents.http },
      (res) => readJson(res).then(resolve, reject),
    );
    const onAbort = () => req.destroy(abortError());
    signal?.addEventListener('abort', onAbort);
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', reject);
    if (init.body === undefined || typeof init.body === 'string') req.end(init.body);
    else init.body.on('error', (err) => req.destroy(err)).pipe(req);
  });
}

/** grammY's client option type for `fetch` (node-fetch's signature). */
export const botApiClientFetch = botApiFetch as unknown as NonNullable<ApiClientOptions['fetch']>;

function readJson(res: IncomingMessage): Promise<BotApiResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) return reject(new Error('the Bot API connection closed before the answer was complete'));
      const text = Buffer.concat(chunks).toString('utf8');
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 300, status, json: async () => JSON.parse(text) });
    });
  });
}

function abortError(): Error {
  const err = new Error('the Bot API call was aborted');
  err.name = 'AbortError';
  return err;
}
