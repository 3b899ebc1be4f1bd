/**
 * The gateway as it runs in production, for the runtime and webhook tests: fake Telegram and
 * fake Ollama around the real model proxy, the real gateway (any number of bots) and a real
 * SQLite file. The gateway can be stopped and started again on the same port and data.
 */
import { createServer } from 'node:net';
import type { Config } from '../../../core/config/index.js';
import { type Db, databasePath, openDb } from '../../../core/db/index.js';
import type { Listening } from '../../../core/http/serve.js';
import { createLogger } from '../../../core/logger.js';
import { createInvite, redeemInvite } from '../../../core/tenancy/invites.js';
import { createTenant } from '../../../core/tenancy/tenants.js';
import { type Gateway, type GatewayOptions, startGateway } from '../../../gateway/main.js';
import { startModelProxy } from '../../../model-proxy/main.js';
import { type FakeOllama, startFakeOllama } from '../../fakes/ollama.js';
import { type FakeTelegram, type FakeTelegramCall, startFakeTelegram } from '../../fakes/telegram.js';
import { testConfig } from '../../helpers/config.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

export { until } from './until.js';

/** The model's answer to every question. */
export const ANSWER = 'Use S355 for the beams.';

/** A Telegram user of the tests. */
export interface Person {
  id: number;
  first_name: string;
}

/** A running harness. */
export interface Harness {
  t: TempDb;
  telegram: FakeTelegram;
  ollama: FakeOllama;
  platformToken: string;
  /** The gateway's current run (replaced by `restart`). */
  gateway: Gateway;
  config: Config;
  /** The gateway's own connection to the SQLite file. */
  gatewayDb: Db;
  /** Stops the gateway (as a SIGTERM would). */
  stopGateway(): Promise<void>;
  /** Starts the gateway again on the same port and data directory. */
  startGateway(opts?: GatewayOptions): Promise<Gateway>;
  /** A tenant on the enterprise plan, with its own bot unless `bot: false`. */
  addTenant(slug: string, opts?: { bot?: boolean }): Promise<{ tenantId: string; token?: string; botId?: string }>;
  /** Links a Telegram user to a tenant (as a redeemed invite does). */
  link(tenantId: string, who: Person): Promise<void>;
  /** Sends a private text to a bot and resolves with the text of its next sendMessage to the sender. */
  ask(token: string, from: Person, text: string, timeoutMs?: number): Promise<string>;
  /** Every sendMessage call of a bot to a chat so far. */
  sends(token: string, chatId: number): FakeTelegramCall[];
  close(): Promise<void>;
}

/** A TCP port that was free a moment ago (the webhook URL needs it before the gateway listens). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts everything; `mode` picks long polling or webhooks. */
export async function startHarness(mode: 'polling' | 'webhook', gatewayOpts: GatewayOptions = {}): Promise<Harness> {
  const t = tempDb();
  const ollama = await startFakeOllama({ reply: () => ANSWER });
  const telegram = await startFakeTelegram();
  const platformToken = telegram.addBot({ username: 'AnvilPlatformBot' }).token;
  const quiet = createLogger('test', (process.env.TEST_LOG as 'silent') ?? 'silent');
  const proxyDb = openDb(databasePath(t.dir));
  const base = testConfig(t.dir, {
    OLLAMA_URLS: ollama.url,
    TELEGRAM_BOT_TOKEN: platformToken,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    TELEGRAM_MODE: mode,
  });
  const proxy: Listening = await startModelProxy(base, quiet, proxyDb);
  const port = await freePort();
  const config: Config = { ...base, GATEWAY_PORT: port, MODEL_PROXY_URL: `http://127.0.0.1:${proxy.port}` };
  const gatewayDb = openDb(databasePath(t.dir));
  const defaults: GatewayOptions = {
    reconcileIntervalMs: 150,
    retryBaseMs: 300,
    retryMaxMs: 1_000,
    stopGraceMs: 200,
    webhookBaseUrl: `http://127.0.0.1:${port}`,
    worker: { retryDelayMs: () => 100 },
    ...gatewayOpts,
  };
  let running: Gateway | undefined;

  const h: Harness = {
    t,
    telegram,
    ollama,
    platformToken,
    config,
    gatewayDb,
    get gateway() {
      if (!running) throw new Error('the gateway is not running');
      return running;
    },
    async stopGateway() {
      await running?.close();
      running = undefined;
    },
    async startGateway(opts = {}) {
      running = await startGateway(config, quiet, gatewayDb, { ...defaults, ...opts });
      return running;
    },
    async addTenant(slug, opts = {}) {
      const bot = opts.bot === false ? undefined : telegram.addBot({ username: `${slug.replace(/-/g, '_')}_bot` });
      const tenant = await createTenant(
        t.db,
        t.sealer,
        { name: slug.toUpperCase(), slug, planId: 'enterprise' },
        {
          actor: 'test',
          ...(bot ? { bot: { token: bot.token, telegramBotId: bot.id, username: bot.username } } : {}),
        },
      );
      const row = t.db.sqlite.prepare('SELECT id FROM tenant_bots WHERE tenant_id = ?').get(tenant.id) as
        | { id: string }
        | undefined;
      return { tenantId: tenant.id, ...(bot ? { token: bot.token } : {}), ...(row ? { botId: row.id } : {}) };
    },
    async link(tenantId, who) {
      const invite = await createInvite(t.db, tenantId, { role: 'member' }, { actor: 'test' });
      await redeemInvite(t.db, invite.code, { telegramUserId: who.id, displayName: who.first_name });
    },
    async ask(token, from, text, timeoutMs = 8_000) {
      const before = telegram.calls.length;
      telegram.sendText(token, from, text);
      const call = await telegram.waitForCall(
        (c) =>
          c.token === token &&
          c.method === 'sendMessage' &&
          c.params.chat_id === from.id &&
          c.response?.ok === true &&
          telegram.calls.indexOf(c) >= before,
        timeoutMs,
      );
      return call.params.text as string;
    },
    sends(token, chatId) {
      return telegram.calls.filter(
        (c) => c.token === token && c.method === 'sendMessage' && c.params.chat_id === chatId && c.response?.ok,
      );
    },
    async close() {
      await running?.close();
      await proxy.close();
      await telegram.close();
      await ollama.close();
      await proxyDb.close();
      await gatewayDb.close();
      await t.cleanup();
    },
  };
  return h;
}
