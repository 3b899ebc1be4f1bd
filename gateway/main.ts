import { pathToFileURL } from 'node:url';
import { type Config, loadConfigOrExit } from '../core/config/index.js';
import { Sealer } from '../core/crypto/seal.js';
import type { Db } from '../core/db/index.js';
import { type Listening, listen, onShutdown } from '../core/http/serve.js';
import { createLogger, type Logger } from '../core/logger.js';
import { openServiceDb, prepareDatabase } from '../core/startup.js';
import { createObjectStore } from '../core/storage/index.js';
import type { GatewayDeps } from './bot/context.js';
import { ModelClient } from './model-client.js';
import { BotManager, type BotManagerOptions, type Intake } from './runtime/manager.js';
import { WriteQueue } from './runtime/write-queue.js';
import { createGatewayHttp } from './server.js';
import { UpdateWorker, type UpdateWorkerOptions } from './webhooks/worker.js';

/** Knobs of the gateway beyond the environment (tests and the benchmark turn them). */
export interface GatewayOptions extends BotManagerOptions {
  /**
   * Public base URL Telegram posts webhooks to, `<base>/telegram/<botId>` (default
   * PUBLIC_URL: the reverse proxy in front of Anvil routes `/telegram/*` to the gateway).
   */
  webhookBaseUrl?: string;
  /** The webhook update worker's options. */
  worker?: UpdateWorkerOptions;
}

/** The running gateway: its HTTP server and its bots. */
export interface Gateway extends Listening {
  bots: BotManager;
  /** The webhook update worker (webhook mode only). */
  worker: UpdateWorker | undefined;
}

/**
 * Starts the gateway: its HTTP server on GATEWAY_PORT (health, and the webhooks in
 * TELEGRAM_MODE=webhook) and the bot manager, which runs the platform bot (when
 * TELEGRAM_BOT_TOKEN is set) and every active tenant's own bot, starting and stopping them
 * as the database changes. A bot that cannot start is retried with backoff; it never takes
 * the HTTP server or another bot down.
 */
export async function startGateway(
  config: Config,
  logger: Logger,
  db: Db,
  opts: GatewayOptions = {},
): Promise<Gateway> {
  const deps: GatewayDeps = {
    db,
    config,
    logger,
    models: new ModelClient(config.MODEL_PROXY_URL, config.internalToken),
    writes: new WriteQueue(db),
    objects: createObjectStore(config),
  };
  const worker = config.TELEGRAM_MODE === 'webhook' ? new UpdateWorker(db, logger, opts.worker) : undefined;
  const app = createGatewayHttp(
    db,
    config,
    logger,
    deps.objects,
    worker && { db, config, logger, stored: (botId) => worker.notify(botId) },
  );
  const http = await listen('gateway', app.fetch, config.GATEWAY_PORT);
  logger.info({ port: http.port, mode: config.TELEGRAM_MODE }, 'gateway listening');
  const baseUrl = (opts.webhookBaseUrl ?? config.PUBLIC_URL).replace(/\/+$/, '');
  const intake: Intake = worker ? { mode: 'webhook', worker, baseUrl } : { mode: 'polling' };
  if (worker && !baseUrl.startsWith('https://')) {
    logger.warn(
      { webhookBaseUrl: baseUrl },
      'TELEGRAM_MODE=webhook: Telegram only calls https:// URLs on ports 443, 80, 88 or 8443; set PUBLIC_URL to the TLS reverse proxy that routes /telegram/* to the gateway',
    );
  }
  const bots = new BotManager(deps, new Sealer(config.masterKey), intake, opts);
  if (!config.TELEGRAM_BOT_TOKEN) logger.warn('TELEGRAM_BOT_TOKEN is not set: the platform bot is off');
  bots.start();
  return {
    name: 'gateway',
    port: http.port,
    bots,
    worker,
    async close() {
      await bots.close();
      await http.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfigOrExit();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const db = openServiceDb(config, logger);
  prepareDatabase(db, config, logger);
  onShutdown(logger, [await startGateway(config, logger, db)], db);
}
