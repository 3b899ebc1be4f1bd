import { run } from '@grammyjs/runner';
import { type Bot, GrammyError } from 'grammy';
import type { BotContext, GatewayDeps } from '../bot/context.js';
import { createBot } from '../bot/create-bot.js';
import type { UpdateWorker } from '../webhooks/worker.js';
import { resolveBotInfo } from './bot-info.js';
import type { DesiredBot } from './desired.js';
import { apiSignal, guardBot } from './guard.js';

/** Update types the bots receive (polling and webhook alike). */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/** Longest a start may take talking to Telegram before it counts as failed. */
const START_TIMEOUT_MS = 30_000;

/** A bot that is receiving updates. */
export interface BotRun {
  bot: Bot<BotContext>;
  /**
   * Stops receiving, waits (at most `graceMs`) for updates being processed, then cuts the
   * bot off from Telegram. `unset` also deletes its webhook: the bot is going away.
   */
  stop(opts: { graceMs: number; unset: boolean }): Promise<void>;
}

/** What starting a bot needs. */
export interface StartRequest {
  desired: DesiredBot;
  deps: GatewayDeps;
  /** Aborts the start (the bot was stopped meanwhile). */
  signal: AbortSignal;
  /** The running bot failed (token revoked, polling ended); the manager retries later. */
  onFailure(err: unknown): void;
}

/** Thrown (and passed to onFailure) when Telegram answers 401: the token is no longer valid. */
export class TokenRejectedError extends Error {
  override name = 'TokenRejectedError';
}

/** Builds the bot with its cut-off switch and cached botInfo, ready for either mode. */
async function prepare(req: StartRequest) {
  const { desired, deps } = req;
  const token = await desired.token();
  const bot = createBot(token, desired.scope, deps);
  const guard = guardBot(bot, (description) =>
    req.onFailure(new TokenRejectedError(`Telegram refused the token: ${description}`)),
  );
  const signal = AbortSignal.any([req.signal, AbortSignal.timeout(START_TIMEOUT_MS)]);
  try {
    bot.botInfo = await resolveBotInfo(
      deps.db,
      bot.api,
      {
        telegramBotId: desired.telegramBotId,
        tenantId: desired.tenantBot?.tenantId ?? null,
        tenantBotId: desired.tenantBot?.botId ?? null,
      },
      signal,
    );
  } catch (err) {
    guard.close();
    throw err;
  }
  return { bot, guard, signal };
}

/**
 * The long-poll timeout of one bot, 25 to 35 s. Bots started together (a gateway restart
 * starts hundreds) would otherwise see their idle polls expire at the same moment every
 * 30 s: hundreds of requests in one burst, a stall of the event loop every bot shares.
 * Different periods drift apart.
 */
export function longPollSeconds(): number {
  return 25 + Math.floor(Math.random() * 11);
}

/**
 * Long polling through grammY's runner: updates of different chats run concurrently, one
 * chat's in order (the bot's `sequentialize`). A webhook left from webhook mode is removed
 * first (pending updates are kept); that call also proves the token is still accepted.
 */
export async function startPolling(req: StartRequest): Promise<BotRun> {
  const { bot, guard, signal } = await prepare(req);
  try {
    await bot.api.deleteWebhook({ drop_pending_updates: false }, apiSignal(signal));
  } catch (err) {
    guard.close();
    throw err;
  }
  const handle = run(bot, {
    runner: { fetch: { allowed_updates: [...ALLOWED_UPDATES], timeout: longPollSeconds() }, silent: true },
  });
  // The runner ends by itself only on an unrecoverable error (401, 409) or after retrying
  // for hours; either way the manager takes over.
  handle
    .task()
    ?.then(
      () => undefined,
      (err: unknown) => req.onFailure(err),
    )
    .catch(() => undefined);
  return {
    bot,
    async stop({ graceMs }) {
      const deadline = Date.now() + graceMs;
      // stop() ends the long poll at once; its promise may wait for a free slot of the sink.
      const stopped = handle.isRunning() ? handle.stop() : undefined;
      await Promise.race([stopped, sleep(graceMs)]);
      while (handle.size() > 0 && Date.now() < deadline) await sleep(20);
      guard.close();
    },
  };
}

/**
 * Webhook mode: Telegram posts the bot's updates to `${baseUrl}/telegram/<key>` with the
 * bot's secret token; the route stores them and `worker` hands them to this bot, starting
 * with any left unprocessed by an earlier run.
 */
export async function startWebhook(req: StartRequest, worker: UpdateWorker, baseUrl: string): Promise<BotRun> {
  const { bot, guard, signal } = await prepare(req);
  const { desired, deps } = req;
  try {
    await bot.api.setWebhook(
      `${baseUrl}/telegram/${desired.key}`,
      {
        secret_token: desired.webhookSecret,
        allowed_updates: [...ALLOWED_UPDATES],
        drop_pending_updates: false,
      },
      apiSignal(signal),
    );
  } catch (err) {
    guard.close();
    throw err;
  }
  worker.attach(desired.key, bot);
  return {
    bot,
    async stop({ graceMs, unset }) {
      if (unset) {
        // Telegram keeps the bot's updates (24 h) until a webhook or getUpdates asks again.
        await bot.api
          .deleteWebhook({ drop_pending_updates: false }, apiSignal(AbortSignal.timeout(5_000)))
          .catch((err: unknown) => deps.logger.warn({ err, bot: desired.label }, 'deleteWebhook failed'));
      }
      await worker.detach(desired.key, graceMs);
      guard.close();
    },
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A short reason for the operator (tenant_bots.status_reason) and the log. */
export function describeFailure(err: unknown): string {
  if (err instanceof TokenRejectedError) return err.message;
  if (err instanceof GrammyError) {
    if (err.error_code === 401) return `Telegram refused the token: ${err.description}`;
    if (err.error_code === 409) return `another process receives this bot's updates: ${err.description}`;
    return `Telegram answered ${err.error_code} to ${err.method}: ${err.description}`;
  }
  if (err instanceof Error) {
    if (err.name === 'HttpError') return `Telegram unreachable: ${err.message}`;
    if (err.name === 'SealError') return `the stored token cannot be opened: ${err.message}`;
    return `${err.name}: ${err.message}`;
  }
  return String(err);
}
