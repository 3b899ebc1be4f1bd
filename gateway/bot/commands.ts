import type { Api } from 'grammy';
import type { BotCommand } from 'grammy/types';
import type { Logger } from '../../core/logger.js';

/** The command menu every person sees. */
export const MEMBER_COMMANDS: readonly BotCommand[] = [
  { command: 'start', description: 'Connect with an invite link' },
  { command: 'help', description: 'What the assistant can do' },
  { command: 'new', description: 'Start a new conversation' },
  { command: 'stop', description: 'Stop the answer being written' },
  { command: 'usage', description: "Your usage and your team's budget" },
  { command: 'whoami', description: 'Who you are to the assistant' },
];

/** The menu of tenant admins, shown in their private chat with the bot. */
export const ADMIN_COMMANDS: readonly BotCommand[] = [
  ...MEMBER_COMMANDS,
  { command: 'invite', description: 'Invite link for a member (/invite admin for an admin)' },
  { command: 'users', description: 'Your team and waiting requests' },
  { command: 'suspend', description: "Pause someone's access" },
  { command: 'unsuspend', description: "Restore someone's access" },
  { command: 'approve', description: 'Accept a request to join' },
  { command: 'deny', description: 'Refuse a request to join' },
];

/**
 * Keeps one bot's command menus in step with Telegram: the member menu for everyone (set
 * once per bot) and the admin menu in each admin's private chat (`BotCommandScopeChat`).
 * Failures are logged and never reach a person.
 */
export class CommandMenus {
  private defaultSet: Promise<void> | undefined;
  private readonly adminChats = new Set<number>();

  constructor(private readonly log: Logger) {}

  /** Sets the default menu, once for the life of the bot. */
  ensureDefault(api: Api): Promise<void> {
    this.defaultSet ??= api.setMyCommands([...MEMBER_COMMANDS]).then(
      () => undefined,
      (err: unknown) => {
        this.defaultSet = undefined;
        this.log.warn({ err }, 'setMyCommands failed');
      },
    );
    return this.defaultSet;
  }

  /** Shows the admin menu in an admin's private chat (once per chat for the life of the bot). */
  async showAdminMenu(api: Api, chatId: number): Promise<void> {
    if (this.adminChats.has(chatId)) return;
    this.adminChats.add(chatId);
    await api.setMyCommands([...ADMIN_COMMANDS], { scope: { type: 'chat', chat_id: chatId } }).catch((err: unknown) => {
      this.adminChats.delete(chatId);
      this.log.warn({ err, chatId }, 'setMyCommands (admin menu) failed');
    });
  }
}
