import { Composer } from 'grammy';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';

/** `/help`: what the bot can do. Answers everyone, linked or not. */
export function help(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.command('help', async (ctx) => {
    await ctx.reply(ctx.anvil.member ? replies.help : replies.onboarding);
  });
  return composer;
}
