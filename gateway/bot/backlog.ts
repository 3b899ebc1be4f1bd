import type { MiddlewareFn } from 'grammy';
import type { Logger } from '../../core/logger.js';
import type { BotContext } from './context.js';
import { sequentialKey } from './control-lane.js';
import { replies } from './replies.js';

/**
 * Most updates one lane (a chat, or a forum topic) may have in the bot at once: the one
 * being handled and those waiting behind it. An album is up to 10 files, each its own
 * update, so a few messages more than that still pass.
 */
export const MAX_LANE_BACKLOG = 16;

/**
 * Refuses the updates of a lane that already has MAX_LANE_BACKLOG in the bot. Updates of
 * one lane run one after another (`sequentialize`), each holding a place in the bot while it
 * waits: in the runner's window of a polling bot (500 updates), and in the webhook worker's
 * slots, which every bot shares (256). Without a bound, one person forwarding hundreds of
 * messages, each to be answered in turn, would hold them all, and every other chat of the
 * bot (on the platform bot: every tenant) would wait behind that one chat.
 *
 * A refused update is not handled at all. A private chat is told once, until it has
 * drained, so that a flood does not become a flood of notices; a group is not told (the
 * refusal comes before anyone is identified, and the bot does not speak to strangers in
 * groups). The log has one line when a lane starts refusing and one with the count when
 * it has drained. Control commands (`/stop`, `/help`) and group chatter not meant for the
 * bot take no lane, so they are never refused. Installed before `sequentialize`, so that
 * the count includes the updates waiting there.
 */
export class LaneBacklog {
  private readonly pending = new Map<string, number>();
  /** Updates refused in each lane since it was last empty. */
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly max = MAX_LANE_BACKLOG,
  ) {}

  /** Updates of `lane` in the bot now. */
  size(lane: string): number {
    return this.pending.get(lane) ?? 0;
  }

  middleware(): MiddlewareFn<BotContext> {
    return async (ctx, next) => {
      const lane = sequentialKey(ctx);
      if (lane === undefined) return next();
      const count = this.size(lane);
      if (count >= this.max) {
        const refused = (this.refused.get(lane) ?? 0) + 1;
        this.refused.set(lane, refused);
        if (refused === 1) {
          this.log.warn({ lane, updateId: ctx.update.update_id }, 'lane backlog full: refusing its updates');
          if (ctx.chat?.type === 'private') await ctx.reply(replies.backlogFull).catch(() => undefined);
        }
        return;
      }
      this.pending.set(lane, count + 1);
      try {
        await next();
      } finally {
        const left = this.size(lane) - 1;
        if (left > 0) this.pending.set(lane, left);
        else this.drained(lane);
      }
    };
  }

  private drained(lane: string): void {
    this.pending.delete(lane);
    const refused = this.refused.get(lane);
    if (refused === undefined) return;
    this.refused.delete(lane);
    this.log.info({ lane, refused }, 'lane backlog drained');
  }
}
