import type { Context } from 'grammy';
import type { Config } from '../../core/config/index.js';
import type { Db } from '../../core/db/index.js';
import type { GroupChat } from '../../core/db/schema.js';
import type { Logger } from '../../core/logger.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import type { LinkedMember } from '../../core/tenancy/members.js';
import type { ModelClient } from '../model-client.js';
import type { WriteQueue } from '../runtime/write-queue.js';
import type { CommandMenus } from './commands.js';
import type { Generations } from './generations.js';
import type { ChatPacer } from './pacer.js';
import type { BotThrottle } from './throttle.js';

/** Which tenants a bot speaks for: the platform bot serves all, a white-label bot one. */
export type BotScope = { kind: 'platform' } | { kind: 'tenant'; tenantId: string };

/** What every bot feature can reach. */
export interface GatewayDeps {
  db: Db;
  config: Config;
  logger: Logger;
  models: ModelClient;
  /** The conversation writes of every bot, batched per event-loop turn (one per `db`). */
  writes: WriteQueue;
  /**
   * Where files people send are kept (`createObjectStore(config)`); without it the files
   * feature says that saving files is not set up.
   */
  objects?: ObjectStore;
}

/** State one bot keeps across its updates (made by `createBot`). */
export interface BotRuntime {
  /** Answers being generated, per chat, for `/stop`. */
  generations: Generations;
  /** Sends and edits per chat, within Telegram's group limits. */
  pacer: ChatPacer;
  /** All of this bot's writes, within Telegram's per-bot limit (its own 429s pause only it). */
  throttle: BotThrottle;
  /**
   * Until when private answers stream by edits from the start: the Bot API server said it
   * has no `sendMessageDraft` (an older or local server). Asked again after a while.
   */
  draftsMissingUntil: number;
  /** The bot's command menus. */
  menus: CommandMenus;
}

/** Anvil's additions to grammY's context, set by `resolveMember`. */
export interface AnvilFlavor {
  anvil: {
    scope: BotScope;
    deps: GatewayDeps;
    /**
     * The sender's tenant membership, or undefined for an unknown sender. In an enabled
     * group it is the membership in the group's tenant (undefined for anyone else).
     */
    member: LinkedMember | undefined;
    /** In a group or supergroup: the enabled group, or undefined when the group is off. */
    group: GroupChat | undefined;
    runtime: BotRuntime;
    log: Logger;
  };
}

/** The one context type of every Anvil bot. */
export type BotContext = Context & AnvilFlavor;
