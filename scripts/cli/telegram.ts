import { Api, GrammyError, HttpError } from 'grammy';
import type { Config } from '../../core/config/index.js';
import { ValidationError } from '../../core/errors.js';
import { botIdOfToken } from '../../core/tenancy/bots.js';
import type { VerifiedBot } from '../../core/tenancy/tenants.js';

/**
 * Checks a tenant's bot token with Telegram's getMe, so a typo is caught before it is
 * stored. The platform bot's own token is refused: two gateways' bots polling one token
 * would take each other's updates (Telegram answers the second poller 409).
 */
export async function verifyBotToken(config: Config, token: string): Promise<VerifiedBot> {
  if (!/^\d+:[\w-]{20,}$/.test(token)) {
    throw new ValidationError(
      '--telegram-token must look like 123456789:AA… (the token @BotFather gave you)',
      'invalid_bot_token',
    );
  }
  if (config.TELEGRAM_BOT_TOKEN && botIdOfToken(config.TELEGRAM_BOT_TOKEN) === botIdOfToken(token)) {
    throw new ValidationError(
      "that is the platform bot's token (TELEGRAM_BOT_TOKEN): a tenant's own bot needs a bot of its own from @BotFather",
      'platform_bot_token',
    );
  }
  try {
    const me = await new Api(token, { apiRoot: config.TELEGRAM_API_ROOT }).getMe();
    return { token, telegramBotId: me.id, username: me.username };
  } catch (err) {
    if (err instanceof GrammyError)
      throw new ValidationError(`Telegram rejected the bot token: ${err.description}`, 'invalid_bot_token');
    if (err instanceof HttpError)
      throw new ValidationError(
        `could not reach Telegram at ${config.TELEGRAM_API_ROOT} to check the token`,
        'telegram_unreachable',
      );
    throw err;
  }
}

/** The platform bot's username (for invite deep links), or undefined when unknown. */
export async function platformBotUsername(config: Config): Promise<string | undefined> {
  if (!config.TELEGRAM_BOT_TOKEN) return undefined;
  try {
    const api = new Api(config.TELEGRAM_BOT_TOKEN, { apiRoot: config.TELEGRAM_API_ROOT, timeoutSeconds: 3 });
    return (await api.getMe()).username;
  } catch {
    return undefined;
  }
}
