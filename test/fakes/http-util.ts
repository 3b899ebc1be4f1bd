/**
 * Small node:http helpers shared by the fake servers in this folder: a loopback
 * listener that can be closed hard, body reading, JSON replies and sleeping.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request handler as the fakes write them (may be async; errors become a 500). */
export type FakeHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A real HTTP server listening on 127.0.0.1 with an ephemeral port. */
export interface LoopbackServer {
  /** The underlying node:http server. */
  server: Server;
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:43121`. */
  url: string;
  /** Every socket currently open on the server. */
  sockets: Set<Socket>;
  /** Destroys every open socket (in-flight requests die like on a crashed peer). */
  destroySockets(): void;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1:0. `acceptConnection` is asked for every new TCP
 * connection; returning false destroys it at once (an unreachable backend).
 */
export async function listenLoopback(
  handler: FakeHandler,
  acceptConnection: () => boolean = () => true,
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          const message = err instanceof Error ? err.message : String(err);
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`fake server error: ${message}`);
        } else {
          res.destroy();
        }
      });
  });
  server.on('connection', (socket: Socket) => {
    if (!acceptConnection()) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that sends garbage should not crash the test process.
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const destroySockets = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    sockets,
    destroySockets,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        destroySockets();
      }),
  };
}

/** Reads a whole request body; rejects past `limit` bytes. */
export function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Writes a complete JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json; charset=utf-8',
): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Writes a complete plain-text response. */
export function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Resolves after `ms` milliseconds (right away, without a timer, for 0). */
export function sleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Narrows `unknown` to a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Narrows `unknown` to an array of unknowns (Array.isArray alone yields `any[]`). */
export function isArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}
