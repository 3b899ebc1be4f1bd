import { Composer } from 'grammy';
import { AnvilError } from '../../core/errors.js';
import { findMemberByRef, listMembers, setMemberStatus } from '../../core/tenancy/access.js';
import { createInvite } from '../../core/tenancy/invites.js';
import { listPendingRequests } from '../../core/tenancy/pairing.js';
import type { BotContext } from '../bot/context.js';
import { replies } from '../bot/replies.js';
import { splitMessage } from '../bot/split.js';
import { formatUtc, requireAdmin } from './guards.js';

/** How long an invite made in Telegram stays valid. */
export const TELEGRAM_INVITE_TTL_MS = 72 * 3_600_000;

/**
 * Tenant admins' commands: `/invite` and `/invite admin` (a single-use deep link to this
 * bot), `/users` (the team and waiting pairing requests), `/suspend` and `/unsuspend`
 * (by user id, @username or Telegram id; reactivating needs a free seat of the plan).
 */
export function admin(): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('invite', async (ctx) => {
    const me = await requireAdmin(ctx);
    if (!me) return;
    if (ctx.chat?.type !== 'private') return void (await ctx.reply(replies.privateOnly));
    const arg = ctx.match.trim().toLowerCase();
    if (arg !== '' && arg !== 'admin' && arg !== 'member') return void (await ctx.reply(replies.inviteUsage));
    const role = arg === 'admin' ? 'admin' : 'member';
    const invite = await createInvite(
      ctx.anvil.deps.db,
      me.tenant.id,
      { role, ttlMs: TELEGRAM_INVITE_TTL_MS },
      { actor: `user:${me.user.id}` },
    );
    ctx.anvil.log.info({ inviteId: invite.id, role }, 'invite created in Telegram');
    const link = `https://t.me/${ctx.me.username}?start=${invite.code}`;
    await ctx.reply(replies.invite(role, link, formatUtc(invite.expiresAt)), {
      link_preview_options: { is_disabled: true },
    });
  });

  composer.command('users', async (ctx) => {
    const me = await requireAdmin(ctx);
    if (!me) return;
    const { db } = ctx.anvil.deps;
    const [members, pending] = await Promise.all([
      listMembers(db, me.tenant.id),
      listPendingRequests(db, me.tenant.id),
    ]);
    const lines = [`${me.tenant.name}: ${members.length} user${members.length === 1 ? '' : 's'}`];
    for (const m of members) {
      const handle = m.telegram_username ? ` (@${m.telegram_username})` : '';
      const flags = [m.role === 'admin' ? 'admin' : '', m.status === 'suspended' ? 'SUSPENDED' : '']
        .filter(Boolean)
        .join(', ');
      lines.push(`• ${m.display_name}${handle}${flags ? ` – ${flags}` : ''} – id ${m.id}`);
    }
    if (pending.length > 0) {
      lines.push('', 'Waiting to join:');
      for (const r of pending) {
        const handle = r.telegram_username ? ` (@${r.telegram_username})` : '';
        lines.push(`• ${r.display_name}${handle} – /approve ${r.code} or /deny ${r.code}`);
      }
    }
    for (const piece of splitMessage(lines.join('\n'))) await ctx.reply(piece);
  });

  composer.command(['suspend', 'unsuspend'], async (ctx) => {
    const me = await requireAdmin(ctx);
    if (!me) return;
    const suspend = !ctx.message?.text?.startsWith('/unsuspend');
    const ref = ctx.match.trim();
    if (!ref) return void (await ctx.reply(suspend ? replies.suspendUsage : replies.unsuspendUsage));
    const { db } = ctx.anvil.deps;
    const target = await findMemberByRef(db, me.tenant.id, ref);
    if (!target) return void (await ctx.reply(replies.noSuchUser(ref)));
    let changed: boolean;
    try {
      changed = await setMemberStatus(db, me.tenant.id, target.id, suspend ? 'suspended' : 'active', {
        actorUserId: me.user.id,
      });
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      return void (await ctx.reply(err.message));
    }
    const name = target.display_name;
    ctx.anvil.log.info({ userId: target.id, suspend, changed }, 'member status set');
    if (!changed) {
      await ctx.reply(suspend ? replies.alreadySuspended(name) : replies.alreadyActive(name));
      return;
    }
    await ctx.reply(suspend ? replies.suspended(name) : replies.unsuspended(name));
    if (target.telegram_user_id !== null) {
      const notice = suspend ? replies.youWereSuspended(me.tenant.name) : replies.youWereUnsuspended(me.tenant.name);
      await ctx.api.sendMessage(target.telegram_user_id, notice).catch(() => undefined);
    }
  });
  return composer;
}
