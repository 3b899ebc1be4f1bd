import { type RunnerHandle, run } from '@grammyjs/runner';
import type { Bot } from 'grammy';
import type { BotContext, BotScope, GatewayDeps } from './bot/context.js';
import { createBot } from './bot/create-bot.js';

/** A bot running by long polling. */
export interface RunningBot {
  bot: Bot<BotContext>;
  stop(): Promise<void>;
}

/**
 * Starts a bot with long polling through grammY's runner (one chat's updates in order,
 * different chats concurrently). Resolves once `getMe` succeeded and polling began.
 */
export async function startPollingBot(token: string, scope: BotScope, deps: GatewayDeps): Promise<RunningBot> {
  const bot = createBot(token, scope, deps);
  await bot.init();
  // Long polling and a webhook exclude each other; pending updates are kept.
  await bot.api.deleteWebhook({ drop_pending_updates: false });
  const handle: RunnerHandle = run(bot, { runner: { fetch: { allowed_updates: ['message', 'callback_query'] } } });
  deps.logger.info({ bot: bot.botInfo.username, scope: scope.kind }, 'bot polling');
  return {
    bot,
    async stop() {
      if (handle.isRunning()) await handle.stop();
    },
  };
}
