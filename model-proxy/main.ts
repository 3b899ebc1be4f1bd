import { pathToFileURL } from 'node:url';
import { type Config, loadConfigOrExit } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import { type Listening, listenNode, onShutdown } from '../core/http/serve.js';
import { createLogger, type Logger } from '../core/logger.js';
import { openServiceDb, prepareDatabase } from '../core/startup.js';
import { createModelProxy } from './server.js';

/** Starts the model proxy on MODEL_PROXY_PORT; resolves once it listens. */
export async function startModelProxy(config: Config, logger: Logger, db: Db): Promise<Listening> {
  const proxy = createModelProxy({ db, config, logger });
  const http = await listenNode('model-proxy', proxy.listener, config.MODEL_PROXY_PORT);
  logger.info({ port: http.port, backends: config.OLLAMA_URLS, slots: config.OLLAMA_SLOTS }, 'model proxy listening');
  return {
    name: 'model-proxy',
    port: http.port,
    async close() {
      proxy.close();
      await http.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfigOrExit();
  const logger = createLogger('model-proxy', config.LOG_LEVEL);
  const db = openServiceDb(config, logger);
  prepareDatabase(db, config, logger);
  const service = await startModelProxy(config, logger, db);
  onShutdown(logger, [service], db);
}
