/**
 * A gateway bot under test: the fake Bot API, the fake Ollama behind the real model proxy,
 * a real SQLite file, and bots built with `createBot` and run by grammY's runner (so the
 * per-chat sequencing and the control lane are the real ones).
 */
import { type RunnerHandle, run } from '@grammyjs/runner';
import type { Bot } from 'grammy';
import type { Tenant, TenantRole, TenantUser, UsageLedgerTable } from '../../../core/db/schema.js';
import type { Listening } from '../../../core/http/serve.js';
import { createLogger } from '../../../core/logger.js';
import { createInvite, redeemInvite } from '../../../core/tenancy/invites.js';
import { createTenant } from '../../../core/tenancy/tenants.js';
import type { BotContext, BotScope, GatewayDeps } from '../../../gateway/bot/context.js';
import { createBot } from '../../../gateway/bot/create-bot.js';
import { ModelClient } from '../../../gateway/model-client.js';
import { WriteQueue } from '../../../gateway/runtime/write-queue.js';
import { startModelProxy } from '../../../model-proxy/main.js';
import {
  type FakeOllama,
  type FakeOllamaOptions,
  type FakeOllamaRequestRecord,
  startFakeOllama,
} from '../../fakes/ollama.js';
import { type FakeTelegram, type FakeTelegramCall, startFakeTelegram } from '../../fakes/telegram.js';
import { TEST_INTERNAL_TOKEN, testConfig } from '../../helpers/config.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

/** A Telegram account in a test. */
export interface TgUser {
  id: number;
  first_name: string;
  username?: string;
}

/** A group chat in a test. */
export interface TgGroup {
  id: number;
  type: 'group' | 'supergroup';
  title?: string;
}

/** A running bot. */
export interface TestBot {
  token: string;
  username: string;
  bot: Bot<BotContext>;
  /** Sends a text as `from` (in `chat` when given) and returns the update id. */
  send(from: TgUser, text: string, opts?: { chat?: TgGroup; thread?: number; replyTo?: number }): number;
  /** Sends a text and resolves with the bot's next sendMessage to that chat. */
  ask(from: TgUser, text: string, opts?: { chat?: TgGroup; thread?: number }): Promise<string>;
  /** Calls of this bot to a chat (with `method`), from index `since` of the call log. */
  callsTo(chatId: number, method?: string, since?: number): FakeTelegramCall[];
}

/** Everything a gateway test needs. */
export interface Harness {
  t: TempDb;
  telegram: FakeTelegram;
  ollama: FakeOllama;
  proxyUrl: string;
  deps: GatewayDeps;
  /** Starts a bot; `deps` overrides parts of the harness's (another model client, a logger). */
  startBot(username: string, scope?: BotScope, deps?: Partial<GatewayDeps>): Promise<TestBot>;
  /** A tenant on a plan (enterprise by default: no rate limits to trip over). */
  tenant(slug: string, opts?: { name?: string; plan?: string }): Promise<Tenant>;
  /** Links a Telegram account to a tenant through an invite. */
  join(tenantId: string, who: TgUser, role?: TenantRole): Promise<TenantUser>;
  ledger(): UsageLedgerTable[];
  /** Chat requests that reached Ollama (the proxy's health probes are not counted). */
  modelCalls(): FakeOllamaRequestRecord[];
  /** The messages of the latest chat request that reached Ollama. */
  lastPrompt(): { role: string; content: string }[];
  /** Waits until `check` holds (polling), or throws. */
  until(check: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the fakes, the real proxy and an empty database. */
export async function startHarness(ollamaOpts: FakeOllamaOptions = {}): Promise<Harness> {
  const t = tempDb();
  const ollama = await startFakeOllama(ollamaOpts);
  const telegram = await startFakeTelegram();
  const quiet = createLogger('test', 'silent');
  const config = testConfig(t.dir, { OLLAMA_URLS: ollama.url, TELEGRAM_API_ROOT: telegram.apiRoot });
  const proxy: Listening = await startModelProxy(config, quiet, t.db);
  const proxyUrl = `http://127.0.0.1:${proxy.port}`;
  const deps: GatewayDeps = {
    db: t.db,
    config,
    logger: quiet,
    models: new ModelClient(proxyUrl, TEST_INTERNAL_TOKEN),
    writes: new WriteQueue(t.db),
  };
  const runners: RunnerHandle[] = [];

  const until = async (check: () => boolean, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  return {
    t,
    telegram,
    ollama,
    proxyUrl,
    deps,
    async startBot(username, scope = { kind: 'platform' }, override = {}) {
      const { token } = telegram.addBot({ username });
      const bot = createBot(token, scope, { ...deps, ...override });
      await bot.init();
      runners.push(
        run(bot, { runner: { fetch: { allowed_updates: ['message', 'callback_query', 'my_chat_member'] } } }),
      );
      const send: TestBot['send'] = (from, text, opts) => {
        if (!opts?.replyTo) {
          return telegram.sendText(token, from, text, {
            ...(opts?.chat ? { chat: opts.chat } : {}),
            ...(opts?.thread !== undefined ? { message_thread_id: opts.thread } : {}),
          });
        }
        const chat = opts.chat ?? { id: from.id, type: 'private' as const };
        return telegram.pushUpdate(token, {
          message: {
            message_id: 100_000 + Math.floor(Math.random() * 100_000),
            from: { id: from.id, is_bot: false, first_name: from.first_name },
            chat:
              chat.type === 'private'
                ? { id: chat.id, type: 'private', first_name: from.first_name }
                : { id: chat.id, type: chat.type, title: chat.title ?? 'Group' },
            date: Math.floor(Date.now() / 1000),
            text,
            reply_to_message: {
              message_id: opts.replyTo,
              from: { id: bot.botInfo.id, is_bot: true, first_name: username },
              chat:
                chat.type === 'private'
                  ? { id: chat.id, type: 'private', first_name: from.first_name }
                  : { id: chat.id, type: chat.type, title: chat.title ?? 'Group' },
              date: Math.floor(Date.now() / 1000),
              text: 'earlier answer',
            },
          },
        } as never);
      };
      const callsTo: TestBot['callsTo'] = (chatId, method, since = 0) =>
        telegram.calls
          .slice(since)
          .filter((c) => c.token === token && Number(c.params.chat_id) === chatId && (!method || c.method === method));
      return {
        token,
        username,
        bot,
        send,
        callsTo,
        async ask(from, text, opts) {
          const chatId = opts?.chat?.id ?? from.id;
          const before = telegram.calls.length;
          send(from, text, opts);
          const call = await telegram.waitForCall(
            (c) =>
              c.token === token &&
              c.method === 'sendMessage' &&
              Number(c.params.chat_id) === chatId &&
              telegram.calls.indexOf(c) >= before,
            10_000,
          );
          return call.params.text as string;
        },
      };
    },
    async tenant(slug, opts = {}) {
      return createTenant(
        t.db,
        t.sealer,
        { name: opts.name ?? slug, slug, planId: opts.plan ?? 'enterprise' },
        { actor: 'test' },
      );
    },
    async join(tenantId, who, role = 'member') {
      const invite = await createInvite(t.db, tenantId, { role }, { actor: 'test' });
      const done = await redeemInvite(t.db, invite.code, {
        telegramUserId: who.id,
        username: who.username,
        displayName: who.first_name,
      });
      return done.user;
    },
    modelCalls: () => ollama.calls(),
    lastPrompt: () =>
      (
        ollama.calls().at(-1)?.body as {
          messages: { role: string; content: string }[];
        }
      )?.messages ?? [],
    ledger: () => t.db.sqlite.prepare('SELECT * FROM usage_ledger ORDER BY started_at').all() as UsageLedgerTable[],
    until,
    async close() {
      for (const r of runners) if (r.isRunning()) await r.stop();
      await proxy.close();
      await telegram.close();
      await ollama.close();
      await t.cleanup();
    },
  };
}
