import type { Api, Bot, Context } from 'grammy';

/** Thrown for a Bot API call made by a bot that was stopped. */
export class BotStoppedError extends Error {
  override name = 'BotStoppedError';
}

/** The switch `guardBot` returns. */
export interface BotGuard {
  /** From now on every Bot API call of the bot fails at once, without reaching Telegram. */
  close(): void;
}

/**
 * Watches every Bot API call of a bot (its own and every update's `ctx.api`: grammY copies
 * the installed transformers): a 401 means Telegram no longer accepts the token, whatever the
 * method, so `onUnauthorized` is told. Installed after auto-retry, it sees each call's final
 * answer. After `close()` the bot cannot send anything: a stopped bot, whose last update may
 * still be running, must not answer for a gateway that has handed its work on.
 */
export function guardBot<C extends Context>(bot: Bot<C>, onUnauthorized: (description: string) => void): BotGuard {
  let closed = false;
  bot.api.config.use(async (prev, method, payload, signal) => {
    if (closed) throw new BotStoppedError(`the bot was stopped; ${method} not sent`);
    const res = await prev(method, payload, signal);
    if (!res.ok && res.error_code === 401) onUnauthorized(res.description);
    return res;
  });
  return {
    close() {
      closed = true;
    },
  };
}

/** grammY's own AbortSignal type (from its fetch shim); Node's native signals work with it. */
export type ApiSignal = NonNullable<Parameters<Api['getMe']>[0]>;

/** Passes a native AbortSignal to a grammY API call. */
export const apiSignal = (signal: AbortSignal): ApiSignal => signal as unknown as ApiSignal;
