import type { Context } from 'grammy';

/** Commands that must never wait behind a chat's running answer. */
export const CONTROL_COMMANDS: ReadonlySet<string> = new Set(['stop', 'help']);

/**
 * The control command an update carries (`/stop`, `/help`, also as `/stop@OurBot`), or
 * undefined. A command addressed to another bot (`/stop@OtherBot`) is not ours.
 */
export function controlCommand(ctx: Context): string | undefined {
  const text = ctx.message?.text;
  if (!text) return undefined;
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s|$)/.exec(text);
  const command = m?.[1]?.toLowerCase();
  if (!command || !CONTROL_COMMANDS.has(command)) return undefined;
  const addressee = m?.[2];
  if (addressee && ctx.me?.username && addressee.toLowerCase() !== ctx.me.username.toLowerCase()) return undefined;
  return command;
}

/**
 * The `sequentialize` constraint of every Anvil bot: one chat's updates run in order, except
 * control commands, which take no constraint and so run at once, beside a running answer
 * (that is how `/stop` can end it). Updates without a chat are not ordered.
 */
export function sequentialKey(ctx: Context): string | undefined {
  if (controlCommand(ctx)) return undefined;
  return ctx.chat?.id.toString();
}
