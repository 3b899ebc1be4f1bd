import { pathToFileURL } from 'node:url';
import { type Config, loadConfigOrExit } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import { type Listening, listen, onShutdown } from '../core/http/serve.js';
import { createLogger, type Logger } from '../core/logger.js';
import { openServiceDb, prepareDatabase } from '../core/startup.js';
import { createApp } from './server.js';

/**
 * Serves the console on `config.APP_PORT` and resolves once it listens (rejects when it
 * cannot, e.g. the port is taken). No process-level side effects: no signal handlers, no
 * exit, and the database stays the caller's to open, migrate and close, so
 * `scripts/start.ts` can run it beside the gateway and the model proxy.
 */
export async function startApp(config: Config, logger: Logger, db: Db): Promise<Listening> {
  const app = createApp({ db, config, logger });
  const service = await listen('app', app.fetch, config.APP_PORT);
  logger.info({ port: service.port, url: config.PUBLIC_URL }, 'console listening');
  return service;
}

// Run directly (`node dist/app/main.js`, `tsx app/main.ts`): the console as its own process.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfigOrExit();
  const logger = createLogger('app', config.LOG_LEVEL);
  const db = openServiceDb(config, logger);
  prepareDatabase(db, config, logger);
  onShutdown(logger, [await startApp(config, logger, db)], db);
}
