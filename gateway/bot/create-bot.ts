import { autoRetry } from '@grammyjs/auto-retry';
import { sequentialize } from '@grammyjs/runner';
import { Bot, type BotError, type Composer, GrammyError, HttpError } from 'grammy';
import { account } from '../features/account.js';
import { admin } from '../features/admin.js';
import { chat } from '../features/chat.js';
import { control } from '../features/control.js';
import { files } from '../features/files.js';
import { groups } from '../features/groups.js';
import { resolveMember } from '../features/member.js';
import { onboarding } from '../features/onboarding.js';
import { pairing } from '../features/pairing.js';
import { LaneBacklog } from './backlog.js';
import { botApiClientFetch } from './bot-api-fetch.js';
import { CommandMenus } from './commands.js';
import type { BotContext, BotRuntime, BotScope, GatewayDeps } from './context.js';
import { sequentialKey } from './control-lane.js';
import { Generations } from './generations.js';
import { ChatPacer } from './pacer.js';
import { replies } from './replies.js';
import { BotThrottle } from './throttle.js';

/**
 * Builds one bot (the platform bot or a tenant's white-label bot) with Anvil's features
 * installed in order: the control lane (`/stop` and `/help` are not sequentialized behind a
 * chat's running answer), member resolution, the group policy, the control commands,
 * onboarding (stops unknown senders), then admins', pairing, account and chat features, each
 * behind its own error boundary. The default command menu is set on the first update.
 */
export function createBot(token: string, scope: BotScope, deps: GatewayDeps): Bot<BotContext> {
  const bot = new Bot<BotContext>(token, {
    client: { apiRoot: deps.config.TELEGRAM_API_ROOT, fetch: botApiClientFetch },
  });
  // This bot's writes are paced, and its 429s pause only it; auto-retry, installed after
  // (so it runs first), retries Telegram's 429s and passing network errors through it.
  const throttle = new BotThrottle(deps.config.TELEGRAM_SENDS_PER_SECOND);
  bot.api.config.use(throttle.transformer());
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
  const runtime: BotRuntime = {
    generations: new Generations(),
    pacer: new ChatPacer(),
    throttle,
    draftsMissingUntil: 0,
    menus: new CommandMenus(deps.logger.child({ scope: scope.kind })),
  };
  // The runner processes updates concurrently; one chat's updates still run in order,
  // except control commands (see sequentialKey), and no chat holds more than its share.
  bot.use(new LaneBacklog(deps.logger.child({ scope: scope.kind })).middleware());
  bot.use(sequentialize(sequentialKey));
  bot.use(async (ctx, next) => {
    void runtime.menus.ensureDefault(ctx.api);
    await next();
  });
  bot.use(resolveMember(deps, scope, runtime));
  const features: Composer<BotContext>[] = [groups(), control(), onboarding(), admin(), pairing(), account(), chat()];
  for (const feature of features) bot.errorBoundary(replyOnError, feature);
  bot.errorBoundary(replyOnError, files());
  bot.catch((err) => logBotError(err, deps));
  return bot;
}

/** A feature threw: log it with the update id and tell the person something useful. */
async function replyOnError(err: BotError<BotContext>): Promise<void> {
  const { ctx } = err;
  ctx.anvil.log.error({ err: err.error }, 'bot feature failed');
  if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: replies.internal }).catch(() => undefined);
  else if (ctx.chat) await ctx.reply(replies.internal).catch(() => undefined);
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
