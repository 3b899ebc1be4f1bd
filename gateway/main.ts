import { pathToFileURL } from 'node:url';
import { type Config, loadConfigOrExit } from '../core/config/index.js';
import { type Db, databasePath, openDb } from '../core/db/index.js';
import { type Listening, listen, onShutdown } from '../core/http/serve.js';
import { createLogger, type Logger } from '../core/logger.js';
import { prepareDatabase } from '../core/startup.js';
import { type RunningBot, startPollingBot } from './bots.js';
import { ModelClient } from './model-client.js';
import { createGatewayHttp } from './server.js';

/**
 * Starts the gateway: its HTTP server on GATEWAY_PORT and, when TELEGRAM_BOT_TOKEN is
 * set, the platform bot. A bot that cannot start (bad token, Telegram unreachable) is
 * logged and retried; it never takes the HTTP server down.
 */
export async function startGateway(config: Config, logger: Logger, db: Db): Promise<Listening> {
  const http = await listen('gateway', createGatewayHttp(db, config).fetch, config.GATEWAY_PORT);
  logger.info({ port: http.port }, 'gateway listening');
  const deps = { db, config, logger, models: new ModelClient(config.MODEL_PROXY_URL, config.internalToken) };
  let platform: RunningBot | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closing = false;
  const token = config.TELEGRAM_BOT_TOKEN;
  const startPlatform = async (attempt: number): Promise<void> => {
    if (!token || closing) return;
    try {
      platform = await startPollingBot(token, { kind: 'platform' }, deps);
    } catch (err) {
      const delay = Math.min(60_000, 1_000 * 2 ** attempt);
      logger.error({ err, retryInMs: delay }, 'the platform bot could not start');
      retry = setTimeout(() => void startPlatform(attempt + 1), delay);
    }
  };
  if (token) void startPlatform(0);
  else logger.warn('TELEGRAM_BOT_TOKEN is not set: the platform bot is off');
  return {
    name: 'gateway',
    port: http.port,
    async close() {
      closing = true;
      clearTimeout(retry);
      await platform?.stop();
      await http.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfigOrExit();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const db = openDb(databasePath(config.dataDir));
  prepareDatabase(db, config, logger);
  onShutdown(logger, [await startGateway(config, logger, db)], db);
}
