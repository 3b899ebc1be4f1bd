import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AnvilError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { CallerResolver } from '../caller.js';
import { type MeteredRoute, parseJsonBody, sendJson } from '../routes/request.js';
import { errorReply, logFailure } from './errors.js';

/** What the proxy's request listener needs. */
export interface ListenerDeps {
  /** The metered routes by path (POST only). */
  metered: ReadonlyMap<string, MeteredRoute>;
  /** Everything else: health, metrics and the metadata routes (the Hono app). */
  fallback: RequestListener;
  callers: CallerResolver;
  logger: Logger;
  maxBodyBytes: number;
}

/**
 * The model proxy's node request listener. Model calls (`POST` to a metered route) are
 * served on node's request and response directly: request id → body size → caller →
 * body → route. Building web Requests, AbortControllers per header and web streams for
 * every call cost more than a fifth of the proxy's CPU per request (docs/performance.md),
 * so only the routes that are not on the hot path go through Hono.
 */
export function proxyListener(deps: ListenerDeps): RequestListener {
  return (req, res) => {
    const route = req.method === 'POST' ? deps.metered.get(pathOf(req.url ?? '/')) : undefined;
    if (route) void serveMetered(deps, route, req, res);
    else deps.fallback(req, res);
  };
}

async function serveMetered(
  deps: ListenerDeps,
  route: MeteredRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new Error('the client went away'));
  });
  try {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > deps.maxBodyBytes) throw tooLarge(deps.maxBodyBytes);
    const caller = deps.callers.resolve({
      authorization: req.headers.authorization,
      tenant: one(req.headers['x-anvil-tenant']),
      user: one(req.headers['x-anvil-user']),
    });
    const text = await readBody(req, deps.maxBodyBytes);
    await route.handle({
      requestId,
      caller,
      log: deps.logger,
      body: parseJsonBody(text),
      text,
      signal: gone.signal,
      out: res,
    });
  } catch (err) {
    logFailure(deps.logger, err, requestId);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reply = errorReply(err, route.api, requestId);
    sendJson(res, reply.status, reply.body, reply.headers);
  }
}

/** The path of a request target, without its query. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** A header that may arrive repeated: its first value. */
function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function tooLarge(max: number): AnvilError {
  return new AnvilError('body_too_large', `request body is larger than ${max / 1024 / 1024} MiB`, 413);
}

/** Reads a whole request body as UTF-8, refusing (413) one larger than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.resume(); // discard the rest
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) fail(tooLarge(max));
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
      );
    });
    req.once('error', fail);
    req.once('close', () => fail(new Error('the client went away before sending its whole request')));
  });
}
