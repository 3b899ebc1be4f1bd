import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Config } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import { AnvilError } from '../core/errors.js';
import { healthRoutes, sqliteCheck } from '../core/http/health.js';
import type { Logger } from '../core/logger.js';
import { UsageLedger } from '../core/usage/ledger.js';
import { costMicros, priceFor } from '../core/usage/prices.js';
import { BackendPool } from './backends/pool.js';
import { CallerResolver } from './caller.js';
import type { ProxyEnv } from './context.js';
import { errorReply, logFailure } from './http/errors.js';
import { proxyListener } from './http/listener.js';
import { Limits } from './limits/index.js';
import { ProxyMetrics } from './metrics.js';
import { toOpenAiError } from './openai/index.js';
import type { PipelineDeps } from './pipeline/forward.js';
import { type BackendDirectory, ollamaMeteredRoutes, ollamaRoutes } from './routes/ollama.js';
import { openAiMeteredRoutes, openAiRoutes } from './routes/openai.js';
import { FairScheduler } from './scheduler/index.js';

/** Largest request body the proxy accepts (images in chat requests make bodies large). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Tuning of the proxy beyond the environment (tests shorten the intervals). */
export interface ProxyTuning {
  healthIntervalMs: number;
  /** Longest a health check may take (default: the interval, clamped to 0.5–5 s). */
  healthTimeoutMs?: number;
  maxWaitMs: number;
  maxQueuedPerTenant: number;
}

/** Defaults: health checks every 5 s, at most 30 s and 200 requests of one tenant waiting. */
export const DEFAULT_TUNING: ProxyTuning = { healthIntervalMs: 5_000, maxWaitMs: 30_000, maxQueuedPerTenant: 200 };

/** What the model proxy needs to run. */
export interface ModelProxyDeps {
  db: Db;
  config: Config;
  logger: Logger;
  tuning?: Partial<ProxyTuning>;
}

/** The proxy app and the parts that run beside it (health checks, queues). */
export interface ModelProxy {
  /** What the proxy's HTTP server runs: model calls served on node directly, the rest by `app`. */
  listener: RequestListener;
  /** Health, metrics and the metadata routes. */
  app: Hono<ProxyEnv>;
  pool: BackendPool;
  scheduler: FairScheduler;
  limits: Limits;
  metrics: ProxyMetrics;
  /** Stops health checks, refuses waiting requests and commits queued ledger rows. */
  close(): void;
}

/**
 * Builds the model proxy: model calls (chat, generate, embed, chat completions,
 * embeddings) go request id → body limit → authentication → route → pipeline (limits →
 * fair queue → backend → meter) on node's request and response (http/listener.ts); health,
 * metrics and the metadata routes are a Hono app with the same checks.
 */
export function createModelProxy(deps: ModelProxyDeps): ModelProxy {
  const { db, config, logger } = deps;
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const pool = new BackendPool(config.OLLAMA_URLS, {
    slotsPerBackend: config.OLLAMA_SLOTS,
    healthIntervalMs: tuning.healthIntervalMs,
    healthTimeoutMs: tuning.healthTimeoutMs,
  });
  const scheduler = new FairScheduler(pool, {
    maxWaitMs: tuning.maxWaitMs,
    maxQueuedPerTenant: tuning.maxQueuedPerTenant,
  });
  const ledger = new UsageLedger(db, (err, rows) =>
    logger.error({ err, requestIds: rows.map((r) => r.requestId) }, 'could not write usage ledger rows'),
  );
  const limits = new Limits(db, { beforeUsageRead: () => ledger.flush() });
  const metrics = new ProxyMetrics(() => {
    const stats = scheduler.stats();
    return {
      queued: new Map(stats.tenants.map((t) => [t.tenantId, t.queued])),
      inFlight: new Map(stats.tenants.map((t) => [t.tenantId, t.inFlight])),
      backends: stats.backends,
    };
  });
  const callers = new CallerResolver(db, config.internalToken);
  const pipeline: PipelineDeps = {
    ledger,
    dispatcher: scheduler,
    admission: limits,
    price: (planId, model, prompt, completion) => costMicros(priceFor(db, planId, model), prompt, completion),
    metrics,
    maxAttempts: Math.max(2, config.OLLAMA_URLS.length),
  };
  const directory: BackendDirectory = {
    pick: (model) => pool.backendFor(model),
  };

  const app = new Hono<ProxyEnv>();
  app.route(
    '/',
    healthRoutes('model-proxy', {
      database: sqliteCheck(db.sqlite),
      ollama: () => {
        const healthy = pool.states().filter((b) => b.healthy);
        if (!healthy.length)
          throw new Error(
            `no healthy backend (${pool
              .states()
              .map((b) => `${b.name}: ${b.lastError ?? 'down'}`)
              .join('; ')})`,
          );
      },
    }),
  );
  app.get('/metrics', async (c) =>
    c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );

  for (const prefix of ['/api/*', '/v1/*']) {
    app.use(prefix, async (c, next) => {
      const requestId = randomUUID();
      c.set('requestId', requestId);
      c.set('log', logger.child({ requestId }));
      c.header('x-request-id', requestId);
      await next();
    });
    app.use(
      prefix,
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new AnvilError(
            'body_too_large',
            `request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`,
            413,
          );
        },
      }),
    );
    app.use(prefix, async (c, next) => {
      c.set(
        'caller',
        callers.resolve({
          authorization: c.req.header('authorization'),
          tenant: c.req.header('x-anvil-tenant'),
          user: c.req.header('x-anvil-user'),
        }),
      );
      await next();
    });
  }

  app.route('/', ollamaRoutes(directory));
  app.route('/', openAiRoutes(directory));

  app.notFound((c) => {
    const message = `no route ${c.req.method} ${c.req.path}`;
    return c.req.path.startsWith('/v1/')
      ? c.json(toOpenAiError(new AnvilError('not_found', message, 404)).body, 404)
      : c.json({ error: message }, 404);
  });
  // Errors leave in the shape of the API called: OpenAI's on /v1/*, Ollama's elsewhere.
  app.onError((err, c) => {
    const requestId = c.get('requestId');
    logFailure(c.get('log') ?? logger, err, requestId);
    const reply = errorReply(err, c.req.path.startsWith('/v1/') ? 'openai' : 'ollama', requestId);
    return c.json(reply.body, reply.status as ContentfulStatusCode, reply.headers);
  });

  const listener = proxyListener({
    metered: new Map(Object.entries({ ...ollamaMeteredRoutes(pipeline), ...openAiMeteredRoutes(pipeline) })),
    fallback: getRequestListener(app.fetch),
    callers,
    logger,
    maxBodyBytes: MAX_BODY_BYTES,
  });

  pool.start();
  return {
    listener,
    app,
    pool,
    scheduler,
    limits,
    metrics,
    close() {
      scheduler.close();
      pool.stop();
      ledger.flush();
    },
  };
}
