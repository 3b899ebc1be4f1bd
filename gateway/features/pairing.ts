import { type Api, Composer, InlineKeyboard } from 'grammy';
import type { Db } from '../../core/db/index.js';
import type { PairingRequest } from '../../core/db/schema.js';
import { AnvilError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { adminTelegramIds } from '../../core/tenancy/access.js';
import { decidePairing, type PairingDecision } from '../../core/tenancy/pairing.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';
import { requireAdmin } from './guards.js';

const CALLBACK = /^pair:(approve|deny):([a-z2-7]{6,16})$/;

/**
 * Tells a tenant's admins, in their private chats with this bot, that someone asks to join,
 * with Approve / Deny buttons (the `/approve <code>` command does the same). Admins who never
 * opened a chat with this bot cannot be messaged; that is logged, not raised. Returns how
 * many admins were told.
 */
export async function announceRequest(
  api: Api,
  db: Db,
  log: Logger,
  request: PairingRequest,
  tenantName: string,
): Promise<number> {
  const text = replies.requestNotice(request.display_name, request.telegram_username, tenantName, request.code);
  const keyboard = new InlineKeyboard()
    .text('Approve', `pair:approve:${request.id}`)
    .text('Deny', `pair:deny:${request.id}`);
  let told = 0;
  for (const chatId of await adminTelegramIds(db, request.tenant_id)) {
    try {
      await api.sendMessage(chatId, text, { reply_markup: keyboard });
      told++;
    } catch (err) {
      log.info({ err, chatId }, 'could not tell an admin about a pairing request');
    }
  }
  return told;
}

/**
 * Admins decide pairing requests: `/approve <code>`, `/deny <code>`, or the buttons of the
 * request's notice. Approval is refused when the plan's max users are reached. The person
 * who asked is told the outcome in their private chat.
 */
export function pairing(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command(['approve', 'deny'], async (ctx) => {
    const admin = await requireAdmin(ctx);
    if (!admin) return;
    const code = ctx.match.trim();
    if (!code) {
      await ctx.reply(replies.approveUsage);
      return;
    }
    const decision = ctx.message?.text?.startsWith('/deny') ? 'deny' : 'approve';
    const outcome = await decide(ctx, admin.tenant.id, admin.user.id, code, decision);
    await ctx.reply(outcome.text);
  });

  composer.callbackQuery(CALLBACK, async (ctx) => {
    const [, decision, id] = ctx.match as RegExpMatchArray;
    const { member } = ctx.anvil;
    if (member?.user.role !== 'admin' || member.user.status !== 'active') {
      await ctx.answerCallbackQuery({ text: replies.adminOnly });
      return;
    }
    const outcome = await decide(ctx, member.tenant.id, member.user.id, id as string, decision as 'approve' | 'deny');
    await ctx.answerCallbackQuery({ text: outcome.text.slice(0, 200) });
    if (outcome.ok && ctx.callbackQuery.message?.text) {
      await ctx
        .editMessageText(`${ctx.callbackQuery.message.text}\n\n${outcome.text}`, { reply_markup: undefined })
        .catch(() => undefined);
    }
  });
  return composer;
}

/** Applies a decision and tells the person who asked; returns what to tell the admin. */
async function decide(
  ctx: BotContext,
  tenantId: string,
  adminUserId: string,
  ref: string,
  decision: 'approve' | 'deny',
): Promise<{ ok: boolean; text: string }> {
  const { deps, log } = ctx.anvil;
  let done: PairingDecision;
  try {
    done = await decidePairing(deps.db, tenantId, ref, decision, { actorUserId: adminUserId });
  } catch (err) {
    if (!(err instanceof AnvilError)) throw err;
    log.info({ code: err.code }, 'pairing decision refused');
    return { ok: false, text: err.message };
  }
  const { request, tenantName } = done;
  log.info({ requestId: request.id, decision }, 'pairing request decided');
  const notice = decision === 'approve' ? replies.youWereApproved(tenantName) : replies.youWereDenied(tenantName);
  await ctx.api.sendMessage(request.telegram_user_id, notice).catch((err: unknown) => {
    log.info({ err }, 'could not tell the requester the decision');
  });
  return {
    ok: true,
    text: decision === 'approve' ? replies.approved(request.display_name) : replies.denied(request.display_name),
  };
}
