/**
 * `npm start`: the console, the gateway and the model proxy in one Node process, on the
 * embedded defaults (SQLite, the data-dir object store, no Qdrant or SearXNG needed).
 * For development and small installs; compose runs the three as separate services.
 */
import { startApp } from '../app/main.js';
import { loadConfigOrExit } from '../core/config/index.js';
import { onShutdown } from '../core/http/serve.js';
import { createLogger } from '../core/logger.js';
import { openServiceDb, prepareDatabase } from '../core/startup.js';
import { startGateway } from '../gateway/main.js';
import { startModelProxy } from '../model-proxy/main.js';

const config = loadConfigOrExit();
const logger = createLogger('anvil', config.LOG_LEVEL);
const db = openServiceDb(config, logger);
prepareDatabase(db, config, logger);

const proxy = await startModelProxy(config, createLogger('model-proxy', config.LOG_LEVEL), db);
const gateway = await startGateway(config, createLogger('gateway', config.LOG_LEVEL), db);
const app = await startApp(config, createLogger('app', config.LOG_LEVEL), db);
onShutdown(logger, [app, gateway, proxy], db);
logger.info(
  { console: config.PUBLIC_URL, ports: { app: app.port, gateway: gateway.port, modelProxy: proxy.port } },
  'Anvil is running',
);
