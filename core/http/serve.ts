import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';

/** How long an idle keep-alive connection is kept open. */
export const KEEP_ALIVE_MS = 65_000;

/** A running service that can be stopped cleanly. */
export interface Service {
  name: string;
  close(): Promise<void>;
}

/** An HTTP service while it listens. */
export interface Listening extends Service {
  /** The port it listens on (the configured one, or the one the OS chose for port 0). */
  port: number;
}

/**
 * Serves a fetch handler on all interfaces (containers reach each other by service name)
 * and resolves once it listens; rejects when it cannot (e.g. the port is taken).
 */
export function listen(
  name: string,
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
): Promise<Listening> {
  return listenNode(name, getRequestListener(fetch), port);
}

/** Serves a node request listener, as `listen` does a fetch handler. */
export async function listenNode(name: string, listener: RequestListener, port: number): Promise<Listening> {
  const server = createServer(listener);
  // Idle keep-alive connections stay open longer than clients and load balancers keep
  // theirs (node's 5 s default is shorter than many), so the client closes first and never
  // sends a request on a connection the server is closing at that moment ("socket hang up").
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () => {
      closing ??= closeServer(server);
      return closing;
    },
  };
}

/** Stops accepting connections and waits (at most `graceMs`) for open ones to finish. */
export function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Signals closer together than this are one request delivered twice (see `onShutdown`). */
const REPEAT_SIGNAL_MS = 1_000;

/** The longest a clean shutdown may take before the process exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 15_000;

/**
 * On SIGTERM or SIGINT: closes the services (servers, bots), then the database, then
 * exits 0 after logging "stopped".
 *
 * One request to stop often arrives as two signals: npm forwards the signal to its script
 * while the terminal (Ctrl-C) or `kill -- -pgid` also sends it to the whole process group.
 * So a signal within `REPEAT_SIGNAL_MS` of the first is ignored; a later one (Ctrl-C
 * pressed again) exits at once with code 1, as does a shutdown that outlasts `deadlineMs`.
 */
export function onShutdown(logger: Logger, services: Service[], db: Db, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let firstAt: number | undefined;
  const stop = async (signal: string) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < REPEAT_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal while shutting down: exiting now');
      process.exit(1);
    }
    firstAt = Date.now();
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown did not finish in time: exiting now');
      process.exit(1);
    }, deadlineMs).unref();
    const results = await Promise.allSettled(services.map((s) => s.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') logger.error({ err: r.reason, service: services[i]?.name }, 'close failed');
    });
    await db.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
