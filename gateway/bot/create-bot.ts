import { autoRetry } from '@grammyjs/auto-retry';
import { sequentialize } from '@grammyjs/runner';
import { Bot, type BotError, GrammyError, HttpError } from 'grammy';
import { chat } from '../features/chat.js';
import { help } from '../features/help.js';
import { resolveMember } from '../features/member.js';
import { onboarding } from '../features/onboarding.js';
import type { BotContext, BotScope, GatewayDeps } from './context.js';
import { replies } from './replies.js';

/**
 * Builds one bot (the platform bot or a tenant's white-label bot) with Anvil's features
 * installed in order: member resolution, help, onboarding (stops unknown senders), chat.
 */
export function createBot(token: string, scope: BotScope, deps: GatewayDeps): Bot<BotContext> {
  const bot = new Bot<BotContext>(token, { client: { apiRoot: deps.config.TELEGRAM_API_ROOT } });
  // Telegram's 429 (retry_after) and passing network errors are retried, not surfaced.
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
  // The runner processes updates concurrently; one chat's updates still run in order.
  bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));
  bot.use(resolveMember(deps, scope));
  bot.use(help());
  bot.use(onboarding());
  bot.errorBoundary(replyOnError, chat());
  bot.catch((err) => logBotError(err, deps));
  return bot;
}

/** A feature threw: log it with the update id and tell the person something useful. */
async function replyOnError(err: BotError<BotContext>): Promise<void> {
  err.ctx.anvil.log.error({ err: err.error }, 'bot feature failed');
  await err.ctx.reply(replies.internal).catch(() => undefined);
}

/** Last resort for errors outside a feature's boundary; says where the failure happened. */
function logBotError(err: BotError<BotContext>, deps: GatewayDeps): void {
  const e = err.error;
  const where =
    e instanceof GrammyError
      ? 'telegram refused a call'
      : e instanceof HttpError
        ? 'telegram unreachable'
        : 'middleware threw';
  deps.logger.error({ err: e, updateId: err.ctx.update.update_id }, `bot error: ${where}`);
}
