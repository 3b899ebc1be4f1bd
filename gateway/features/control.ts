import { Composer } from 'grammy';
import type { BotContext } from '../bot/context.js';
import { laneOf } from '../bot/control-lane.js';
import { adminHelp, memberHelp, replies } from '../bot/replies.js';
import { onboardingText } from './onboarding.js';

/**
 * The control lane's commands, which run beside a chat's running answer (see
 * `sequentialKey`): `/help`, and `/stop`, which aborts the answer of its chat, or of its
 * topic in a forum group. The aborted answer keeps what was written, marked as stopped; the
 * proxy meters what was produced.
 */
export function control(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('help', async (ctx) => {
    const { member } = ctx.anvil;
    if (!member) {
      if (ctx.chat?.type !== 'private') return;
      await ctx.reply(await onboardingText(ctx));
      return;
    }
    await ctx.reply(member.user.role === 'admin' ? memberHelp + adminHelp : memberHelp);
  });

  composer.command('stop', async (ctx, next) => {
    const { member, runtime, log } = ctx.anvil;
    const lane = laneOf(ctx);
    if (!member || !lane) return next();
    if (runtime.generations.stop(lane)) {
      log.info({ lane }, 'generation stopped by /stop');
      return; // the answer itself ends with "Stopped."
    }
    await ctx.reply(replies.nothingToStop);
  });
  return composer;
}
